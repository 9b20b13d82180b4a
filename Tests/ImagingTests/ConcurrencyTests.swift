import Dispatch
@testable import Imaging
import Testing

/// The server preprocesses a batch on several threads at once; results must
/// match a serial run exactly, and errors must carry their own diagnostics
/// (TurboJPEG error strings are per handle, and each decode has its own).
@Suite("concurrency")
struct ConcurrencyTests {
    @Test func parallelBatchMatchesSerial() throws {
        let spec = PreprocessSpec(width: 16, height: 16)
        let good = try (0..<6).map { i -> [UInt8] in
            let img = SyntheticImage.photoLike(width: 64 + 8 * i, height: 48, seed: UInt64(i))
            return i % 2 == 0 ? try JPEGEncoder.encode(img, quality: 85) : try PNGEncoder.encode(img)
        }
        let inputs = good + [Array(good[0].prefix(good[0].count / 2)), [], Array("nope".utf8)]
        let n = inputs.count, stride = spec.floatsPerImage

        func runSerial() -> ([Float], [ImagingError?]) {
            var out = [Float](repeating: 0, count: n * stride)
            var errors = [ImagingError?](repeating: nil, count: n)
            out.withUnsafeMutableBufferPointer { buf in
                for i in 0..<n {
                    errors[i] = imagingError { try Preprocessor.preprocess(inputs[i], spec: spec, into: buf.baseAddress! + i * stride) }
                }
            }
            return (out, errors)
        }
        let (serial, serialErrors) = runSerial()

        let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: n * stride)
        defer { out.deallocate() }
        out.initialize(repeating: 0)
        let errors = UnsafeMutableBufferPointer<ImagingError?>.allocate(capacity: n)
        defer { errors.deallocate() }
        errors.initialize(repeating: nil)
        nonisolated(unsafe) let outBase = out.baseAddress!
        nonisolated(unsafe) let errBase = errors.baseAddress!
        for _ in 0..<5 {
            DispatchQueue.concurrentPerform(iterations: n) { i in
                do {
                    try Preprocessor.preprocess(inputs[i], spec: spec, into: outBase + i * stride)
                    errBase[i] = nil
                } catch {
                    errBase[i] = error as? ImagingError
                }
            }
            #expect(Array(out) == serial)
            #expect(Array(errors) == serialErrors)
        }
        #expect(serialErrors.compactMap { $0 }.count == 3)
    }
}
