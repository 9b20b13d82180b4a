import ArgumentParser
import NeuralNet
import Tensor

/// `boundary bench explain`: what one Explain costs beside one prediction of the same image.
/// Grad-CAM runs the trainable network forward and back down to the chosen layer; the ratio to
/// the folded batch-1 forward pass (what Predict runs) is the figure to watch.
struct ExplainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Grad-CAM latency for one image (scene-s, resnet18) against the batch-1 forward pass Predict runs."
    )

    @Option(help: "Thread counts to measure (comma-separated).")
    var threads: String = "1,2"

    @Option(help: "Timed calls per figure (median and p90 reported).")
    var calls: Int = 30

    func run() throws {
        #if DEBUG
        print("warning: debug build; benchmark figures are only meaningful with `swift run -c release`")
        #endif
        print("# \(KernelLevel.summary)")
        let threadCounts = threads.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
        for (name, spec) in [("scene-s", ModelSpec.sceneS(labels: (0..<10).map { "class\($0)" })),
                             ("resnet18", .resnet18(labels: (0..<1000).map { "c\($0)" }))] {
            for t in threadCounts {
                let network = try Network(spec: spec, threads: t, seed: 3)
                let input = (0..<(spec.input.channels * spec.input.height * spec.input.width)).map { Float($0 % 17) / 17 - 0.5 }
                let layer = try network.explainableLayer(named: nil)
                let explain = Measure.latencies(calls: calls) {
                    input.withUnsafeBufferPointer { _ = try? network.classActivationMap(image: $0.baseAddress!, label: 0, layer: layer) }
                }
                let maps = Measure.latencies(calls: calls) {
                    input.withUnsafeBufferPointer { _ = network.featureMaps(image: $0.baseAddress!, layer: layer) }
                }
                let session = InferenceSession(model: network.inferenceModel().tuned(batch: 1, threads: t), threads: t)
                var probabilities = [Float](repeating: 0, count: spec.classCount)
                let predict = Measure.latencies(calls: calls) {
                    input.withUnsafeBufferPointer { x in
                        probabilities.withUnsafeMutableBufferPointer { session.run(x.baseAddress!, batch: 1, probabilities: $0.baseAddress!) }
                    }
                }
                let (e, f, p) = (median(explain), median(maps), median(predict))
                print("\(name) threads=\(t) layer=\(network.spatialLayerNames.last!): Grad-CAM p50 \(ms(e)) p90 \(ms(percentile(explain, 0.9))) ms"
                      + " | feature maps p50 \(ms(f)) ms | batch-1 forward (Predict) p50 \(ms(p)) ms | Grad-CAM / forward \(formatted(e / p, digits: 2))x")
            }
        }
    }

    private func median(_ values: [Double]) -> Double { percentile(values, 0.5) }
    private func percentile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * q + 0.5))]
    }
    private func ms(_ seconds: Double) -> String { formatted(seconds * 1000, digits: 2) }
}
