/// Throughput benchmark the main CLI prints as `NAME: VALUE UNIT`.
public enum ImagingBenchmark {
    /// Measures decode + centre-crop preprocessing to 3x64x64 on one thread
    /// for generated photo-like inputs (q90 4:2:0 JPEGs, RGB PNG).
    /// `seconds` is the time spent per case (median of 5 windows). Build in
    /// release for real figures.
    public static func run(seconds: Double) -> [(name: String, value: Double, unit: String)] {
        let spec = PreprocessSpec(width: 64, height: 64, resizeMode: .centerCrop)
        var cases: [(String, [UInt8])] = []
        do {
            let img640 = SyntheticImage.photoLike(width: 640, height: 480, seed: 7)
            let img1024 = SyntheticImage.photoLike(width: 1024, height: 768, seed: 8)
            cases.append(("jpeg 640x480 -> 64x64 threads=1",
                          try JPEGEncoder.encode(img640, quality: 90, subsampling: .s420)))
            cases.append(("jpeg 1024x768 -> 64x64 threads=1",
                          try JPEGEncoder.encode(img1024, quality: 90, subsampling: .s420)))
            cases.append(("png 640x480 -> 64x64 threads=1", try PNGEncoder.encode(img640)))
        } catch {
            return [("benchmark setup failed: \(error)", 0, "img/s")]
        }
        var output = [Float](repeating: 0, count: spec.floatsPerImage)
        return cases.map { name, bytes in
            let value = rate(seconds: seconds) {
                output.withUnsafeMutableBufferPointer { buf in
                    guard let p = buf.baseAddress else { return false }
                    return (try? Preprocessor.preprocess(bytes, spec: spec, into: p)) != nil
                }
            }
            return (name, value, "img/s")
        }
    }

    /// Diagnostic breakdown for the 640x480 JPEG case: encoded size, decode
    /// only at the DCT scale preprocessing picks, and full-size decode.
    public static func profile(seconds: Double) -> [(name: String, value: Double, unit: String)] {
        guard let jpeg = try? JPEGEncoder.encode(SyntheticImage.photoLike(width: 640, height: 480, seed: 7),
                                                 quality: 90, subsampling: .s420) else { return [] }
        let need = PreprocessSpec(width: 64, height: 64).minimumDecodeSize(for: ImageSize(width: 640, height: 480))
        let small = SyntheticImage.photoLike(width: 160, height: 120, seed: 7)
        let spec = PreprocessSpec(width: 64, height: 64)
        var out = [Float](repeating: 0, count: spec.floatsPerImage)
        return [
            ("resample+normalize 160x120 -> 64x64", rate(seconds: seconds) {
                out.withUnsafeMutableBufferPointer { buf in
                    guard let p = buf.baseAddress else { return false }
                    return (try? Preprocessor.preprocess(small, spec: spec, into: p)) != nil
                }
            }, "img/s"),
            ("jpeg 640x480 encoded size", Double(jpeg.count), "bytes"),
            ("jpeg 640x480 decode only (min \(need))",
             rate(seconds: seconds) { (try? ImageDecoder.decode(jpeg, minimumSize: need)) != nil }, "img/s"),
            ("jpeg 640x480 decode only (full size)",
             rate(seconds: seconds) { (try? ImageDecoder.decode(jpeg)) != nil }, "img/s"),
        ]
    }

    /// Calls `body` for `seconds` in 5 equal windows and returns the median
    /// windowed rate in calls per second (0 if `body` reports failure). The
    /// median keeps one window disturbed by other processes on a shared
    /// machine from skewing the figure, in either direction.
    static func rate(seconds: Double, _ body: () -> Bool) -> Double {
        let clock = ContinuousClock()
        var rates: [Double] = []
        for _ in 0..<5 {
            let start = clock.now
            var n = 0, elapsed = 0.0
            repeat {
                if !body() { return 0 }
                n += 1
                let d = clock.now - start
                elapsed = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            } while elapsed < seconds / 5
            rates.append(Double(n) / elapsed)
        }
        return rates.sorted()[2]
    }
}
