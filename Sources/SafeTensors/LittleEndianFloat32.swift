/// float32 arrays as little-endian bytes: safetensors' F32 payload, and the same layout wherever
/// else the project reads or writes raw tensors (ONNX `raw_data`, `boundary bench model` files).
/// One reader and one writer, so the byte order is decided in one place.
public enum LittleEndianFloat32 {
    /// The floats in `bytes` (a whole number of 4-byte values; `bytes` may be unaligned).
    public static func floats(_ bytes: UnsafeRawBufferPointer) -> [Float] {
        precondition(bytes.count % 4 == 0, "a float32 payload is a multiple of 4 bytes, got \(bytes.count)")
        let count = bytes.count / 4
        #if _endian(little)
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes) }
            initialized = count
        }
        #else
        return (0..<count).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        #endif
    }

    /// Appends `values` to `out` as little-endian bytes.
    public static func append(_ values: [Float], to out: inout [UInt8]) {
        #if _endian(little)
        values.withUnsafeBytes { out.append(contentsOf: $0) }
        #else
        for value in values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { out.append(contentsOf: $0) }
        }
        #endif
    }

    /// `values` as little-endian bytes.
    public static func bytes(_ values: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 4)
        append(values, to: &out)
        return out
    }
}
