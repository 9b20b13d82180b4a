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

/// Splits one image row into `phases` interleaved phase arrays with one zero of left padding:
/// `output[k·length + j] = row[phases·j + k − 1]` (zero outside the row), `length` floats each.
/// `pad` is scratch of at least `phases·length + 16` floats.
@inline(__always)
func deinterleave(_ row: UnsafePointer<Float>, width: Int, phases: Int, length: Int,
                  into output: UnsafeMutablePointer<Float>, pad: UnsafeMutablePointer<Float>) {
    let padded = phases &* length
    pad[0] = 0
    (pad + 1).update(from: row, count: width)
    (pad + 1 + width).update(repeating: 0, count: padded &- width &+ 15)
    var j = 0
    if phases == 4 {
        while j &+ 4 <= length {
            let v = UnsafeRawPointer(pad + 4 &* j).loadUnaligned(as: SIMD16<Float>.self)
            store(SIMD4(v[0], v[4], v[8], v[12]), output + j, 4)
            store(SIMD4(v[1], v[5], v[9], v[13]), output + length + j, 4)
            store(SIMD4(v[2], v[6], v[10], v[14]), output + 2 &* length + j, 4)
            store(SIMD4(v[3], v[7], v[11], v[15]), output + 3 &* length + j, 4)
            j &+= 4
        }
    } else if phases == 2 {
        while j &+ 4 <= length {
            let v = UnsafeRawPointer(pad + 2 &* j).loadUnaligned(as: SIMD8<Float>.self)
            store(SIMD4(v[0], v[2], v[4], v[6]), output + j, 4)
            store(SIMD4(v[1], v[3], v[5], v[7]), output + length + j, 4)
            j &+= 4
        }
    }
    while j < length {
        for k in 0..<phases { output[k &* length &+ j] = pad[phases &* j &+ k] }
        j &+= 1
    }
}
