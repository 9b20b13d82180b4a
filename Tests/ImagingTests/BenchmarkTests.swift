import Imaging
import Testing

@Suite("benchmark")
struct BenchmarkTests {
    @Test func reportsNamedRates() {
        let results = ImagingBenchmark.run(seconds: 0.02)
        #expect(results.map(\.name) == ["jpeg 640x480 -> 64x64 threads=1", "jpeg 1024x768 -> 64x64 threads=1",
                                        "png 640x480 -> 64x64 threads=1"])
        #expect(results.allSatisfy { $0.unit == "img/s" && $0.value > 0 })
    }
}
