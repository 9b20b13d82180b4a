// Platform-independent randomness and trigonometry for DemoData.
//
// Everything here is plain integer arithmetic or IEEE-754 +, -, *, /, sqrt and
// rounding, which are exactly specified, so results are bit-identical on every
// platform (Swift does not contract a*b+c into FMA unless asked to).
// Nothing in DemoData uses Foundation's random numbers or libm's sin/cos/exp/pow.

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, passes BigCrush, and trivially portable.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    @inline(__always)
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 output finaliser, also used as a 64-bit hash.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [lo, hi).
    @inline(__always)
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }

    /// Uniform in [lo, hi) as Float (drawn in Double, then rounded once).
    @inline(__always)
    mutating func uniformF(_ lo: Double, _ hi: Double) -> Float { Float(uniform(lo, hi)) }

    /// Uniform integer in 0..<n (multiply-shift; bias < 2^-32 for the small n used here).
    @inline(__always)
    mutating func int(below n: Int) -> Int {
        precondition(n > 0)
        return Int(((next() >> 32) &* UInt64(n)) >> 32)
    }
}

/// Independent random streams derived from (seed, split, index, purpose).
enum Stream: UInt64 {
    case labels = 0x6C61_6265_6C73_0001   // label permutation of a block
    case ambiguity = 0x616D_6269_6775_0002 // per-sample ambiguity draw
    case render = 0x7265_6E64_6572_0003    // every rendering parameter and the pixel noise
}

@inline(__always)
func deriveSeed(_ seed: UInt64, split: DemoDataset.Split, index: Int, stream: Stream) -> UInt64 {
    let splitSalt: UInt64
    switch split {
    case .train: splitSalt = 0x7472_6169_6E00_0000
    case .val: splitSalt = 0x7661_6C00_0000_0000
    case .test: splitSalt = 0x7465_7374_0000_0000
    }
    var h = SplitMix64.mix(seed ^ 0xD1B5_4A32_D192_ED03)
    h = SplitMix64.mix(h ^ splitSalt)
    h = SplitMix64.mix(h ^ UInt64(bitPattern: Int64(index)))
    h = SplitMix64.mix(h ^ stream.rawValue)
    return h
}

enum DetMath {
    static let pi = 3.141_592_653_589_793_116
    static let halfPi = 1.570_796_326_794_896_558

    /// sin and cos using only + - * / and rounding: quadrant reduction to [-π/4, π/4] and
    /// Taylor series to the 13th power (abs error < 1e-13 for |x| < 100). Deterministic on all platforms.
    static func sinCos(_ x: Double) -> (sin: Double, cos: Double) {
        let k = (x / halfPi).rounded()
        let r = x - k * halfPi
        let r2 = r * r
        let s = r * (1 - r2 / 6 * (1 - r2 / 20 * (1 - r2 / 42 * (1 - r2 / 72 * (1 - r2 / 110 * (1 - r2 / 156))))))
        let c = 1 - r2 / 2 * (1 - r2 / 12 * (1 - r2 / 30 * (1 - r2 / 56 * (1 - r2 / 90 * (1 - r2 / 132)))))
        switch Int(k) & 3 {
        case 0: return (s, c)
        case 1: return (c, -s)
        case 2: return (-s, -c)
        default: return (-c, s)
        }
    }
}

@inline(__always) func clamp01(_ x: Float) -> Float { x < 0 ? 0 : (x > 1 ? 1 : x) }
@inline(__always) func fract(_ x: Float) -> Float { x - x.rounded(.down) }
