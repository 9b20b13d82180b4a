import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The naming scheme for in-flight temporary files: `.NAME.tmp-<pid>-<16 hex digits>`.
///
/// The leading dot hides them from casual listings, the pid says which process
/// left them behind, and the random suffix keeps concurrent writers to the same
/// target from colliding. The scheme is strict so that clean-up can never
/// mistake a user's own file for debris.
enum TemporaryName {
    static let marker = ".tmp-"
    static let randomHexDigits = 16

    /// A fresh temporary name for a file that will be renamed to `targetName`.
    static func make(for targetName: String) -> String {
        let random = UInt64.random(in: .min ... .max)
        var hex = String(random, radix: 16)
        hex = String(repeating: "0", count: randomHexDigits - hex.count) + hex
        return ".\(targetName)\(marker)\(getpid())-\(hex)"
    }

    /// Whether `name` was produced by `make(for:)` (for some target name).
    static func matches(_ name: String) -> Bool {
        guard name.hasPrefix("."), let markerRange = name.range(of: marker, options: .backwards) else {
            return false
        }
        // The target name between the dot and the marker must be non-empty.
        guard name.index(after: name.startIndex) < markerRange.lowerBound else { return false }
        let suffix = name[markerRange.upperBound...]
        let parts = suffix.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let pid = parts[0], random = parts[1]
        let isDigit: (Character) -> Bool = { $0.isASCII && $0.isNumber }
        let isHex: (Character) -> Bool = { $0.isASCII && $0.isHexDigit && !$0.isUppercase }
        return !pid.isEmpty && pid.allSatisfy(isDigit)
            && random.count == randomHexDigits && random.allSatisfy(isHex)
    }
}
