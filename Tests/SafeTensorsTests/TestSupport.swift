import Foundation
@testable import SafeTensors

/// Bytes from a hex string (whitespace ignored); used for embedded golden files.
func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    precondition(digits.count % 2 == 0)
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0 ... $0 + 1]), radix: 16)! }
}

/// A safetensors file image built by hand: LE u64 length, header text (optionally
/// space-padded to a multiple of 8, as writers must; readers must not care), data.
func makeFile(header: String, data: [UInt8] = [], pad: Bool = true) -> [UInt8] {
    var headerBytes = Array(header.utf8)
    if pad { headerBytes += Array(repeating: UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8) }
    return littleEndianBytes(UInt64(headerBytes.count)) + headerBytes + data
}

func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

func f32Bytes(_ values: [Float]) -> [UInt8] { values.flatMap { littleEndianBytes($0.bitPattern) } }

/// Bit patterns, so NaN payloads and the sign of zero are compared exactly.
func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// Decodes and returns the thrown `SafeTensorsError` (nil if decoding succeeded
/// or threw something else) so tests can assert on the exact case.
func decodingError(_ bytes: [UInt8]) -> SafeTensorsError? {
    do {
        _ = try SafeTensorsArchive(decoding: bytes)
        return nil
    } catch let error as SafeTensorsError {
        return error
    } catch {
        return nil
    }
}

/// Deterministic PRNG (SplitMix64) so random round-trip tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A fresh directory per test: Swift Testing runs tests in parallel.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("safetensors-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
