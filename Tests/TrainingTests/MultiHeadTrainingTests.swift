import Foundation
import Imaging
import NeuralNet
import Tensor
import Reports
import Testing
@testable import Training

/// Multi-head models end to end on the training side: a CSV manifest becomes per-head labels, one
/// network learns two independent heads, and evaluation reports each head on its own images.
@Suite struct MultiHeadTrainingTests {
    static let heads = [HeadSpec(name: "pattern", labels: ["bars-h", "bars-v", "square"]), HeadSpec(name: "tone", labels: ["dark", "light"])]

    /// Pattern images whose tone (dark or light) is independent of their pattern; every fifth
    /// image has no tone label, as a manifest's empty cell.
    static func dataset(count: Int, seed: UInt64) -> DecodedImages {
        var images = DecodedImages()
        for i in 0..<count {
            let pattern = i % 3, tone = (i / 3) % 2
            var image = patternImage(label: pattern, size: 16, seed: seed &+ UInt64(i))
            if tone == 0 { image = RGBImage(width: 16, height: 16, pixels: image.pixels.map { $0 / 3 })! }
            images.images.append(image)
            images.labels.append(-1)
            images.headLabels.append([pattern, i % 5 == 4 ? nil : tone])
            images.paths.append("\(i)")
        }
        return images
    }

    @Test func oneBackboneLearnsTwoIndependentHeads() throws {
        let spec = tinySpec(labels: []).relabelled(labels: [], heads: Self.heads)
        let network = try Network(spec: spec, threads: 2, seed: 1)
        let config = TrainingConfig(epochs: 8, batchSize: 12, learningRate: 1e-2, augmentation: nil, patience: nil, seed: 2)
        let result = try ClassifierTrainer(network: network, config: config)
            .run(train: Self.dataset(count: 90, seed: 10), validation: Self.dataset(count: 30, seed: 500))
        #expect(result.bestValidationAccuracy >= 0.85, "\(result.history.map { $0.valAccuracy! })")
        let test = Self.dataset(count: 60, seed: 9_000)
        let evaluation = HeadEvaluation.run(network.inferenceModel(), images: test, threads: 2)
        #expect(evaluation.heads.map(\.name) == ["pattern", "tone"])
        for head in evaluation.heads { #expect(head.metrics.accuracy >= 0.85, "\(head.name): \(head.metrics.accuracy)") }
        // The tone head is judged only on the images that have a tone label.
        #expect(evaluation.heads[1].metrics.perClass.map(\.support).reduce(0, +) == 48)
        let json = try JSONSerialization.jsonObject(with: try evaluation.json()) as! [String: Any]
        #expect(json["pattern_accuracy"] as? Double == evaluation.heads[0].metrics.accuracy)
        #expect((json["heads"] as? [String: Any])?.keys.sorted() == ["pattern", "tone"])

        // The report: the classic sections on the first head, "Every head" with a pie per head.
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (input, first) = try ReportBuilder.build(modelDirectory: directory, network: network, images: test, threads: 1,
                                                     note: "", explanations: 2)
        #expect(input.labels == ["bars-h", "bars-v", "square"])
        #expect(first.accuracy == evaluation.heads[0].metrics.accuracy)
        #expect(input.heads.map(\.name) == ["pattern", "tone"])
        #expect(input.heads.map { $0.metrics?.accuracy } == evaluation.heads.map(\.metrics.accuracy))
        #expect(input.predictions.allSatisfy { $0.heads?.count == 2 && $0.probabilities.count == 3 })
        #expect(input.predictions.filter { $0.heads?[1].trueLabel == nil }.count == 12)
        #expect(input.explanations.count == 2 && input.explanations.allSatisfy { (0..<3).contains($0.predictedLabel) })
        let html = HTMLReport.render(input)
        #expect(html.contains("<section id=\"heads\"") && html.contains("href=\"#heads\""))
        let cards = html.components(separatedBy: "<section id=\"heads\"")[1].components(separatedBy: "</section>")[0]
        #expect(cards.components(separatedBy: "class=\"hpie\"").count - 1 == 2 * 2 * HTMLReport.Options().examplesPerGroup)
        // A classic model's report has no such section.
        #expect(!HTMLReport.render(ReportInput(title: "t")).contains("id=\"heads\""))
    }

    func writeImages(_ names: [String], in folder: URL) throws {
        for (i, name) in names.enumerated() {
            let png = try PNGEncoder.encode(patternImage(label: i % 3, size: 8, seed: UInt64(i)))
            try Data(png).write(to: folder.appendingPathComponent(name))
        }
    }

    @Test func aManifestGivesEachHeadItsSortedLabelsAndEmptyCellsStayUnknown() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeImages(["a.png", "b, with comma.png", "c.png", "d.png"], in: folder)
        let csv = "\u{FEFF}path,split,aperture,iso\r\na.png,train,mid,800\r\n\"b, with comma.png\",train,low,\r\nc.png,val,low,800\r\n"
            + "d.png,test,,100\r\n\r\ne.png,train,high,100"  // a blank line, and no line end at the end
        let url = folder.appendingPathComponent("m.csv")
        try Data(csv.utf8).write(to: url)
        let manifest = try ImageManifest(url: url)
        #expect(manifest.heads == [HeadSpec(name: "aperture", labels: ["high", "low", "mid"]), HeadSpec(name: "iso", labels: ["100", "800"])])
        #expect(manifest.train.map(\.headLabels) == [[2, 1], [1, nil], [0, 0]])
        #expect(manifest.train[1].path == folder.appendingPathComponent("b, with comma.png").path)
        #expect(manifest.validation.map(\.headLabels) == [[1, 1]])
        #expect(manifest.test.map(\.headLabels) == [[nil, 0]])
        let data = LoadedDataset.manifest(manifest, input: InputSpec(height: 8, width: 8), threads: 1)
        #expect(data.heads == manifest.heads)
        #expect(data.classNames == ["aperture:high", "aperture:low", "aperture:mid", "iso:100", "iso:800"])
        #expect(data.train.headLabels == [[2, 1], [1, nil]], "e.png does not exist: skipped, and its labels with it")
        #expect(data.skipped.map { URL(fileURLWithPath: $0.path).lastPathComponent } == ["e.png"])

        // Mistakes name the file, the line and what to do.
        func refusal(_ text: String) -> String {
            try? Data(text.utf8).write(to: url)
            do { _ = try ImageManifest(url: url); return "accepted" } catch { return "\(error)" }
        }
        let text = "path,split,aperture\na.png,train,low\nc.png,val,wide\n"
        #expect(refusal(text) == "\(url.path): val rows give head 'aperture' labels no train row has: wide (train has low)")
        #expect(refusal("path,aperture\na.png,low\nc.png\n") == "\(url.path) line 3: 1 fields where the header has 2")
        #expect(refusal("path,split,aperture\na.png,later,low\n").contains("line 2: split is 'later'; use train, val or test"))
        #expect(refusal("file,aperture\na.png,low\n").contains("has no 'path' column"))
        #expect(refusal("path,split\na.png,train\n").contains("has no label columns"))
        #expect(refusal("path,aperture,iso\na.png,,\n").contains("line 2: no label for any head"))
        #expect(refusal("path,aperture\n\"a.png,low\n").contains("never closed"))
        #expect(refusal("path,aperture\n\"a.png\"x,low\n").contains("line 2: text after a quoted field's closing quote"))
        // CR-only line ends, a quoted line break, and a combining accent right after a comma.
        let scalars = try CSV.parse("a,b\r\"x\ny\",\u{301}z\rq,r", path: "m.csv")
        #expect(scalars == [CSV.Record(line: 1, fields: ["a", "b"]), CSV.Record(line: 2, fields: ["x\ny", "\u{301}z"]),
                            CSV.Record(line: 4, fields: ["q", "r"])])

        // A model's manifest (eval, report): its heads and labels are the model's, and test rows alone will do.
        try Data("path,split,aperture,iso\nd.png,test,high,800\n".utf8).write(to: url)
        let known = try ImageManifest(url: url, heads: manifest.heads)
        #expect(known.heads == manifest.heads && known.test.map(\.headLabels) == [[0, 1]])
        try Data("path,split,aperture,iso\nd.png,test,wide,800\n".utf8).write(to: url)
        #expect(throws: ManifestError.unknownLabels(path: url.path, head: "aperture", split: "test", labels: ["wide"],
                                                    known: ["high", "low", "mid"], fromModel: true)) {
            try ImageManifest(url: url, heads: manifest.heads)
        }
        try Data("path,split,iso,aperture\nd.png,test,800,high\n".utf8).write(to: url)
        #expect(throws: ManifestError.otherHeads(path: url.path, found: ["iso", "aperture"], expected: ["aperture", "iso"])) {
            try ImageManifest(url: url, heads: manifest.heads)
        }
    }
}
