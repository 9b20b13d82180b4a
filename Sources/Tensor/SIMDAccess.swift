/// Four-lane loads and stores for the transform kernels, with a scalar tail for the last
/// `lanes < 4` elements of a row so callers need no separate remainder loop.
@inline(__always)
func load(_ p: UnsafePointer<Float>, _ lanes: Int) -> SIMD4<Float> {
    if lanes == 4 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self) }
    var value = SIMD4<Float>()
    for l in 0..<lanes { value[l] = p[l] }
    return value
}

@inline(__always)
func load(_ p: UnsafeMutablePointer<Float>, _ lanes: Int) -> SIMD4<Float> { load(UnsafePointer(p), lanes) }

@inline(__always)
func store(_ value: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>, _ lanes: Int) {
    if lanes == 4 { UnsafeMutableRawPointer(p).storeBytes(of: value, as: SIMD4<Float>.self); return }
    for l in 0..<lanes { p[l] = value[l] }
}

extension SIMD16 where Scalar == Float {
    /// Sixteen floats from `p`, at any alignment: the width of the engine's Swift sums and updates
    /// (global pooling, the workers' ∂U partials, AdamW).
    @inlinable @inline(__always)
    public init(loadingFrom p: UnsafePointer<Float>) { self = UnsafeRawPointer(p).loadUnaligned(as: Self.self) }

    /// These sixteen floats → p [0 ..< 16], at any alignment.
    @inlinable @inline(__always)
    public func store(to p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self) }
}

/// Splits one image row into `phases` interleaved phase arrays after `leftPadding` zeros:
/// `output[k·length + j] = row[phases·j + k − leftPadding]` (zero outside the row), `length`
/// floats each. The interior is loaded straight from the row 16 (or 8) floats at a time; only the
/// edges take the scalar path.
@inline(__always)
func deinterleave(_ row: UnsafePointer<Float>, width: Int, phases: Int, length: Int, leftPadding: Int = 1,
                  into output: UnsafeMutablePointer<Float>) {
    var j = 0
    @inline(__always) func scalar(_ j: Int) {
        for k in 0..<phases {
            let x = phases &* j &+ k &- leftPadding
            output[k &* length &+ j] = (x >= 0 && x < width) ? row[x] : 0
        }
    }
    while j < length && phases &* j &- leftPadding < 0 { scalar(j); j &+= 1 }
    if phases == 4 {
        while j &+ 4 <= length && phases &* (j &+ 4) &- leftPadding <= width {
            let v = SIMD16<Float>(loadingFrom: row + (4 &* j &- leftPadding))
            store(SIMD4(v[0], v[4], v[8], v[12]), output + j, 4)
            store(SIMD4(v[1], v[5], v[9], v[13]), output + length + j, 4)
            store(SIMD4(v[2], v[6], v[10], v[14]), output + 2 &* length + j, 4)
            store(SIMD4(v[3], v[7], v[11], v[15]), output + 3 &* length + j, 4)
            j &+= 4
        }
    } else if phases == 2 {
        while j &+ 4 <= length && phases &* (j &+ 4) &- leftPadding <= width {
            let v = UnsafeRawPointer(row + (2 &* j &- leftPadding)).loadUnaligned(as: SIMD8<Float>.self)
            store(SIMD4(v[0], v[2], v[4], v[6]), output + j, 4)
            store(SIMD4(v[1], v[3], v[5], v[7]), output + length + j, 4)
            j &+= 4
        }
    }
    while j < length { scalar(j); j &+= 1 }
}

/// Elementwise kernels shared by layers, written with explicit SIMD so they vectorise even though
/// the compiler cannot prove the pointers don't alias.
public enum Elementwise {
    /// y = max(x, 0) over `count` floats (in place allowed).
    public static func relu(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i < count {
            let lanes = min(4, count - i)
            store(pointwiseMax(load(x + i, lanes), SIMD4<Float>()), y + i, lanes)
            i += lanes
        }
    }

    /// dx = dy where y > 0, else 0.
    public static func reluBackward(output y: UnsafePointer<Float>, gradOutput dy: UnsafePointer<Float>,
                                    into dx: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i < count {
            let lanes = min(4, count - i)
            let mask = load(y + i, lanes) .> SIMD4<Float>()
            store(SIMD4<Float>().replacing(with: load(dy + i, lanes), where: mask), dx + i, lanes)
            i += lanes
        }
    }
}
