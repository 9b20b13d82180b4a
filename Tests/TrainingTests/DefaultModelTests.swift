import DefaultModel
import Foundation
import NeuralNet
import Testing
@testable import Training

/// The committed default model (Sources/DefaultModel/scene-s-demo) must load and still classify
/// the demo set.
@Suite struct DefaultModelTests {
    @Test func committedDefaultModelClassifiesDemoImages() throws {
        let network = try ModelDirectory.load(try #require(DefaultModel.directory))
        #expect(network.spec.name == "scene-s")
        #expect(network.spec.labels.count == 10)
        // 6 per class from the test split: far from chance (10%) if the weights are the trained ones.
        let data = LoadedDataset.demo(perClass: 30, classes: 10, overlap: 0.3, input: network.spec.input, seed: 0)
        let evaluation = Evaluation.run(network.inferenceModel(), images: data.test, threads: 2)
        #expect(data.test.count == 60)
        #expect(evaluation.accuracy >= 0.7, "accuracy \(evaluation.accuracy)")
    }
}
