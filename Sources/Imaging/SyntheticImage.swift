import Tensor

/// Deterministic photo-like test content for tests, demos and the benchmark.
///
/// Flat colours compress to almost nothing and decode unrealistically fast,
/// so the generator mixes smooth gradients, a few hard-edged shapes and
/// sensor-like noise, which gives JPEG sizes and decode costs near real photos.
public enum SyntheticImage {
    public static func photoLike(width: Int, height: Int, seed: UInt64 = 1, noise: Int = 12) -> RGBImage {
        var rng = SeededGenerator(seed: seed)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let phase = rng.uniform(0...6.28)
        // A few discs and bars with random colours.
        struct Shape { var cx, cy, r: Double; var color: (Double, Double, Double); var disc: Bool }
        var shapes: [Shape] = []
        for _ in 0..<6 {
            shapes.append(Shape(cx: rng.uniform(0...Double(width)), cy: rng.uniform(0...Double(height)),
                                r: rng.uniform(0.05...0.25) * Double(min(width, height)),
                                color: (rng.uniform(0...255), rng.uniform(0...255), rng.uniform(0...255)),
                                disc: rng.nextUnit() < 0.5))
        }
        let wD = Double(max(width, 1)), hD = Double(max(height, 1))
        var i = 0
        for y in 0..<height {
            let fy = Double(y) / hD
            for x in 0..<width {
                let fx = Double(x) / wD
                var r = 40 + 170 * fx, g = 60 + 120 * fy, b = 128 + 90 * ((fx - fy) * 3 + phase).sine
                for s in shapes {
                    let dx = Double(x) - s.cx, dy = Double(y) - s.cy
                    let inside = s.disc ? dx * dx + dy * dy < s.r * s.r : abs(dx) < s.r && abs(dy) < s.r / 3
                    if inside { r = s.color.0; g = s.color.1; b = s.color.2 }
                }
                let n = noise > 0 ? Double(Int(rng.next() % UInt64(2 * noise + 1)) - noise) : 0
                pixels[i] = clampByte(r + n)
                pixels[i + 1] = clampByte(g + n * 0.8)
                pixels[i + 2] = clampByte(b + n * 0.6)
                i += 3
            }
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: pixels)
    }

    /// A smooth image (no noise, no hard edges) for codec accuracy tests.
    public static func smooth(width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        var i = 0
        for y in 0..<height {
            for x in 0..<width {
                let fx = Double(x) / Double(max(width - 1, 1)), fy = Double(y) / Double(max(height - 1, 1))
                pixels[i] = clampByte(30 + 200 * fx)
                pixels[i + 1] = clampByte(50 + 150 * fy)
                pixels[i + 2] = clampByte(200 - 120 * (fx + fy) / 2)
                i += 3
            }
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: pixels)
    }

    static func clampByte(_ v: Double) -> UInt8 { UInt8(min(max(v.rounded(), 0), 255)) }
}

private extension Double {
    /// sin() as a Taylor series on [-pi, pi], so this file needs no libm import
    /// (accuracy ~1e-3 is plenty for test patterns).
    var sine: Double {
        var x = self.truncatingRemainder(dividingBy: 2 * .pi)
        if x > .pi { x -= 2 * .pi } else if x < -.pi { x += 2 * .pi }
        let x2 = x * x
        return x * (1 - x2 / 6 * (1 - x2 / 20 * (1 - x2 / 42 * (1 - x2 / 72 * (1 - x2 / 110)))))
    }
}
