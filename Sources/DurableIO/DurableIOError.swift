#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call during a durable write or clean-up.
///
/// It carries the path, the syscall and the `errno` text because an operator
/// reading a log line must be able to tell *which* file failed and *why*
/// (disk full, permission denied, missing directory) without a debugger.
public struct DurableIOError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file or directory the failing call operated on.
    public let path: String
    /// The system call that failed, e.g. `"open"`, `"write"`, `"fsync"`, `"rename"`.
    public let syscall: String
    /// The raw `errno` value captured right after the failure.
    public let code: Int32
    /// `strerror(code)`, captured at the failure site.
    public let message: String

    public init(path: String, syscall: String, code: Int32) {
        self.path = path
        self.syscall = syscall
        self.code = code
        self.message = String(cString: strerror(code))
    }

    public var description: String {
        "\(syscall)(\(path)) failed: \(message) (errno \(code))"
    }
}
