/// The on-disk element types this module can read.
///
/// We only ever write `F32`, but PyTorch users often save half precision, so
/// F16, BF16 and F64 are widened/narrowed to `Float` on load. Integer and
/// boolean dtypes are refused: silently turning an index tensor into floats
/// would hide a wrong-file mistake.
enum DType: String, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case f64 = "F64"

    var byteSize: Int {
        switch self {
        case .f16, .bf16: 2
        case .f32: 4
        case .f64: 8
        }
    }

    /// Converts `count` little-endian elements starting at `source` to `Float`.
    /// `source` may be unaligned (tensor data sits at arbitrary file offsets).
    func decode(_ source: UnsafeRawBufferPointer, count: Int) -> [Float] {
        precondition(source.count == count * byteSize, "caller validated the byte count")
        switch self {
        case .f32:
            return LittleEndianFloat32.floats(source)
        case .f16:
            return (0..<count).map {
                floatFromHalfBits(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))
            }
        case .bf16:
            // bfloat16 is the top half of an IEEE binary32, so widening is exact.
            return (0..<count).map {
                Float(bitPattern: UInt32(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) << 16)
            }
        case .f64:
            return (0..<count).map {
                Float(Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))))
            }
        }
    }
}

/// IEEE binary16 → binary32, exact for every input.
///
/// Hand-written rather than via `Float16` because `Float16` is unavailable on
/// macOS/x86_64, and the main package must build there too. NaN payloads are
/// kept (shifted into the top mantissa bits), as hardware conversion does.
func floatFromHalfBits(_ half: UInt16) -> Float {
    let sign = UInt32(half & 0x8000) << 16
    let exponent = UInt32(half >> 10) & 0x1F
    let mantissa = UInt32(half & 0x3FF)
    switch exponent {
    case 0x1F:  // Inf / NaN
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    case 0:
        // Zero or subnormal: mantissa × 2⁻²⁴, exactly representable in Float.
        let magnitude = Float(mantissa) * 0x1p-24
        return Float(bitPattern: sign | magnitude.bitPattern)
    default:
        return Float(bitPattern: sign | ((exponent + 127 - 15) << 23) | (mantissa << 13))
    }
}
