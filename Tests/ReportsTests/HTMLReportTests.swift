import Foundation
import Testing
@testable import Reports

enum Sample {
    static let labels = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck", "<script>alert('x')</script>"]

    static func png(seed: Int) -> [UInt8] {
        TinyPNG.make(width: 16, height: 16) { x, y in
            let r = UInt8((x * 16 + seed * 37) & 0xFF)
            let g = UInt8((y * 16 + seed * 91) & 0xFF)
            let b = UInt8(((x ^ y) * 16 + seed * 13) & 0xFF)
            return (r, g, b)
        }
    }

    /// A realistic-looking input with `k` classes.
    static func input(classes k: Int = 11, epochs: Int = 20, nanEpoch: Int? = nil, withVal: Bool = true,
                      embeddings n: Int = 600, predictions np: Int = 60) -> ReportInput {
        var rng = TestRNG(state: 99)
        let names = Array((0..<k).map { $0 < labels.count ? labels[$0] : "class-\($0)" })
        var history: [EpochRecord] = []
        for e in 1...max(epochs, 1) where epochs > 0 {
            let t = Double(e)
            var r = EpochRecord(epoch: e, trainLoss: 2.2 * exp(-t / 6) + 0.15 + rng.next() * 0.03,
                                trainAccuracy: min(0.99, 0.25 + 0.7 * (1 - exp(-t / 5))),
                                learningRate: 0.01 * pow(0.9, t), seconds: 12.5)
            if withVal {
                r.valLoss = 2.2 * exp(-t / 6) + 0.3 + 0.01 * max(0, t - 14) + rng.next() * 0.05
                r.valAccuracy = min(0.95, 0.22 + 0.65 * (1 - exp(-t / 5))) - 0.004 * max(0, t - 14)
            }
            if e == nanEpoch { r.trainLoss = .nan; r.valLoss = .infinity; r.valAccuracy = .nan }
            history.append(r)
        }
        var preds: [PredictionExample] = []
        var truth: [Int] = [], guess: [Int] = []
        for i in 0..<np {
            let t = i % k
            var probs = (0..<k).map { _ in Float(rng.next() * 0.2) }
            let winner = rng.next() < 0.75 ? t : (t + 1 + Int(rng.next() * Double(max(k - 1, 1)))) % k
            probs[winner] += Float(1 + rng.next() * 4)
            let s = probs.reduce(0, +)
            probs = probs.map { $0 / s }
            preds.append(PredictionExample(imagePNG: png(seed: i), trueLabel: t, probabilities: probs, name: "test_\(i).png"))
        }
        for i in 0..<300 {
            let t = i % k
            truth.append(t)
            guess.append(rng.next() < 0.8 ? t : Int(rng.next() * Double(k)))
        }
        var emb: [[Float]] = [], embLabels: [Int] = []
        for i in 0..<n {
            let c = i % k
            let angle = Double(c) / Double(k) * 2 * Double.pi
            emb.append((0..<32).map { j in
                let centre = j == 0 ? cos(angle) * 4 : j == 1 ? sin(angle) * 4 : j == 2 ? Double(c % 3) : 0
                return Float(centre + rng.symmetric() * 0.9)
            })
            embLabels.append(c)
        }
        return ReportInput(
            title: "CIFAR-10 fine-tune <v2> & more", modelName: "resnet-mini", createdAt: Date(timeIntervalSince1970: 1_790_000_000),
            labels: names, history: history, bestEpoch: epochs > 0 ? min(14, epochs) : nil,
            metrics: k > 0 ? ClassificationMetrics(trueLabels: truth, predictedLabels: guess, classNames: names) : nil,
            predictions: preds, embeddings: emb, embeddingLabels: embLabels,
            notes: ["Augmentation: random crop + flip", "Label smoothing 0.1 <b>bold?</b>"])
    }
}

@Suite struct HTMLReportTests {
    static let sectionIDs = ["summary", "curves", "confusion", "predictions", "embeddings", "explanations"]

    func svgBlocks(_ html: String) -> [String] {
        var out: [String] = []
        var rest = html[...]
        while let start = rest.range(of: "<svg"), let end = rest[start.upperBound...].range(of: "</svg>") {
            out.append(String(rest[start.lowerBound..<end.upperBound]))
            rest = rest[end.upperBound...]
        }
        return out
    }

    /// All numeric-ish attribute values inside SVG markup.
    func svgAttributeValues(_ html: String) -> [String] {
        let attrs = ["x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height", "d", "transform", "viewBox", "offset", "points"]
        var values: [String] = []
        for block in svgBlocks(html) {
            for a in attrs {
                var rest = block[...]
                let key = " \(a)=\""
                while let r = rest.range(of: key) {
                    let after = rest[r.upperBound...]
                    guard let q = after.firstIndex(of: "\"") else { break }
                    values.append(String(after[..<q]))
                    rest = after[q...]
                }
            }
        }
        return values
    }

    @Test func containsAllSectionsAndCharts() {
        let input = Sample.input()
        let html = HTMLReport.render(input)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for id in Self.sectionIDs { #expect(html.contains("id=\"\(id)\""), "missing #\(id)") }
        let svgs = svgBlocks(html)
        #expect(svgs.contains { $0.contains("aria-label=\"Loss per epoch\"") })
        #expect(svgs.contains { $0.contains("aria-label=\"Accuracy per epoch\"") })
        #expect(svgs.contains { $0.contains("Confusion matrix heat map") })
        #expect(svgs.contains { $0.contains("PCA scatter") })
        #expect(svgs.contains { $0.contains("t-SNE map of embeddings") })
        #expect(html.contains("t-SNE map of 600 of the same embeddings (perplexity 30, exact"))
        // One probability bar chart per shown prediction (8 best + 8 worst).
        #expect(svgs.filter { $0.contains("class probabilities") }.count == 16)
        // Sections appear in order.
        let positions = Self.sectionIDs.map { html.range(of: "id=\"\($0)\"")!.lowerBound }
        #expect(positions == positions.sorted())
    }

    @Test func embedsImagesAsDataURIs() {
        let input = Sample.input()
        let html = HTMLReport.render(input, options: .quick)
        #expect(html.contains("data:image/png;base64,"))
        let shown = input.predictions.filter { html.contains("data:image/png;base64," + Data($0.imagePNG).base64EncodedString() + "\"") }
        #expect(shown.count == 16)
    }

    @Test func explanationPanelShowsEachImageItsOverlayAndTiles() throws {
        var input = Sample.input(classes: 3)
        let png = Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3])
        input.explanations = [
            ExplanationPanel(name: "cat.jpg", imagePNG: png, overlayPNG: png + [9], trueLabel: 0, predictedLabel: 0, probability: 0.9,
                             camLayer: "layers.6", layers: [.init(layer: "layers.0", shape: "8×12×12", channelPNGs: [png, png]),
                                                            .init(layer: "layers.6", shape: "16×6×6", channelPNGs: [png])]),
            ExplanationPanel(name: "<b>dog</b>", imagePNG: png, overlayPNG: png, trueLabel: 1, predictedLabel: 2, probability: 0.6,
                             camLayer: "layers.6", layers: []),
        ]
        let html = HTMLReport.render(input, options: .quick)
        let section = String(html[html.range(of: "id=\"explanations\"")!.lowerBound...])
        #expect(section.components(separatedBy: "class=\"xrow ok\"").count == 2)
        #expect(section.components(separatedBy: "class=\"xrow bad\"").count == 2)
        #expect(section.components(separatedBy: "class=\"xtile\"").count == 4)
        #expect(section.contains((png + [9]).base64EncodedString()), "the overlay is shown")
        #expect(section.contains("layers.0 · 8×12×12"))
        #expect(section.contains("&lt;b&gt;dog&lt;/b&gt;") && !section.contains("<b>dog"))
        let decoded = try ReportInput.makeJSONDecoder().decode(ReportInput.self, from: ReportInput.makeJSONEncoder().encode(input))
        #expect(decoded.explanations == input.explanations)
        input.explanations = []
        #expect(HTMLReport.render(input, options: .quick).contains("No explanations computed."))
    }

    @Test func isSelfContained() {
        let html = HTMLReport.render(Sample.input(), options: .quick)
        let lower = html.lowercased()
        #expect(!lower.contains("<script"))
        #expect(!lower.contains("<link"))
        #expect(!lower.contains("src=\"http"))
        #expect(!lower.contains("href=\"http"))
        #expect(!lower.contains("url(http"))
        #expect(!lower.contains("@import"))
    }

    @Test(arguments: ["<script>alert('x')</script>", "\"><img src=x onerror=alert(1)>", "a & b 'quoted'"])
    func escapesHostileStrings(hostile: String) {
        var input = Sample.input(classes: 3)
        input.labels[1] = hostile
        input.metrics = ClassificationMetrics(trueLabels: [0, 1, 2, 1], predictedLabels: [0, 1, 1, 2], classNames: input.labels)
        input.title = hostile
        input.modelName = hostile
        input.notes = [hostile]
        input.predictions[0].name = hostile
        let html = HTMLReport.render(input, options: .quick)
        #expect(!html.contains(hostile))
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.contains("<img src=x"))
        #expect(html.contains(HTMLReport.escape(hostile)))
    }

    @Test func escapeFunction() {
        #expect(HTMLReport.escape("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
        #expect(HTMLReport.escape("ok\u{0}\u{7}\n") == "ok\n")
        #expect(HTMLReport.escape("猫 🐈") == "猫 🐈")
    }

    @Test func nanLossProducesNoNaNCoordinates() {
        var input = Sample.input(nanEpoch: 5)
        input.history[7].trainAccuracy = .infinity
        input.embeddings[3][0] = .nan
        input.predictions[2].probabilities[0] = .nan
        let html = HTMLReport.render(input, options: .quick)
        let values = svgAttributeValues(html)
        #expect(values.count > 100)
        for v in values {
            #expect(!v.lowercased().contains("nan") && !v.lowercased().contains("inf"), "bad SVG value: \(v)")
        }
        #expect(!html.contains("NaN"))
        #expect(html.contains("non-finite value"))
        // The loss line is broken into separate sub-paths around the gap.
        let loss = svgBlocks(html).first { $0.contains("Loss per epoch") }!
        let trainPath = loss.components(separatedBy: "<path d=\"").first { $0.contains("fill=\"none\" stroke=\"#4e79a7\"") }!
            .prefix { $0 != "\"" }
        #expect(trainPath.filter { $0 == "M" }.count == 2)
        #expect(loss.contains("non-finite value at epoch 5"))
    }

    struct EdgeCase: Sendable, CustomTestStringConvertible {
        var name: String
        var make: @Sendable () -> ReportInput
        var testDescription: String { name }
    }

    static let edgeCases: [EdgeCase] = [
        EdgeCase(name: "completely empty") { ReportInput(title: "") },
        EdgeCase(name: "empty history") { Sample.input(epochs: 0) },
        EdgeCase(name: "no validation") { Sample.input(withVal: false) },
        EdgeCase(name: "single epoch") { Sample.input(epochs: 1) },
        EdgeCase(name: "one class") { Sample.input(classes: 1) },
        EdgeCase(name: "zero embeddings") { Sample.input(embeddings: 0) },
        EdgeCase(name: "no predictions") { Sample.input(predictions: 0) },
        EdgeCase(name: "many classes") { Sample.input(classes: 40, predictions: 40) },
        EdgeCase(name: "all NaN history") {
            var i = Sample.input(epochs: 3)
            i.history = i.history.map { var r = $0; r.trainLoss = .nan; r.trainAccuracy = .nan; r.valLoss = .nan; r.valAccuracy = nil; return r }
            return i
        },
        EdgeCase(name: "inconsistent inputs") {
            var i = ReportInput(title: "x", labels: ["a"])
            i.embeddings = [[1, 2], [3], [], [4, 5, 6]]
            i.embeddingLabels = [0, 7]
            i.predictions = [PredictionExample(imagePNG: [], trueLabel: 5, probabilities: []),
                             PredictionExample(imagePNG: [1, 2, 3], trueLabel: -1, probabilities: [0.2, 0.8]),
                             PredictionExample(imagePNG: [], trueLabel: 0, probabilities: [1])]
            i.history = [EpochRecord(epoch: 3, trainLoss: 1, trainAccuracy: 0.5), EpochRecord(epoch: 1, trainLoss: 2, trainAccuracy: 0.2, valAccuracy: 0.3)]
            i.bestEpoch = 99
            return i
        },
    ]

    @Test(arguments: edgeCases)
    func edgeCasesRender(edge: EdgeCase) {
        let html = HTMLReport.render(edge.make(), options: .quick)
        for id in Self.sectionIDs { #expect(html.contains("id=\"\(id)\"")) }
        #expect(html.hasSuffix("</html>\n"))
        #expect(!html.contains("NaN"))
        for v in svgAttributeValues(html) { #expect(!v.lowercased().contains("nan") && !v.lowercased().contains("inf")) }
    }

    @Test func emptyInputShowsPlaceholders() {
        let html = HTMLReport.render(ReportInput(title: "Empty"), options: .quick)
        #expect(html.contains("No training history recorded."))
        #expect(html.contains("No confusion matrix available."))
        #expect(html.contains("No example predictions available."))
        #expect(html.contains("No embeddings available."))
        #expect(!html.contains("<svg"))
    }

    @Test func bestAndWorstSelection() {
        let png: [UInt8] = [1, 2, 3]
        let preds = [
            PredictionExample(imagePNG: png, trueLabel: 0, probabilities: [0.6, 0.4], name: "ok-60"),
            PredictionExample(imagePNG: png, trueLabel: 0, probabilities: [0.9, 0.1], name: "ok-90"),
            PredictionExample(imagePNG: png, trueLabel: 1, probabilities: [0.7, 0.3], name: "bad-70"),
            PredictionExample(imagePNG: png, trueLabel: 1, probabilities: [0.95, 0.05], name: "bad-95"),
            PredictionExample(imagePNG: png, trueLabel: 1, probabilities: [0.2, 0.8], name: "ok-80"),
        ]
        let input = ReportInput(title: "t", labels: ["a", "b"], predictions: preds)
        let html = HTMLReport.render(input, options: .init(examplesPerGroup: 2, maxTSNEPoints: 60))
        func pos(_ s: String) -> String.Index { html.range(of: ">\(s)<")!.lowerBound }
        // Best: ok-90, ok-80 (in that order); worst: bad-95, bad-70; ok-60 not shown.
        #expect(pos("ok-90") < pos("ok-80"))
        #expect(pos("ok-80") < pos("bad-95"))
        #expect(pos("bad-95") < pos("bad-70"))
        #expect(html.range(of: ">ok-60<") == nil)
        // Metrics derived from predictions when none given: 3/5 correct.
        #expect(html.contains("60.0%"))
    }

    @Test func reportInputJSONRoundTrip() throws {
        let input = Sample.input(classes: 4, epochs: 3, nanEpoch: 2, embeddings: 8, predictions: 3)
        let data = try ReportInput.makeJSONEncoder().encode(input)
        let json = String(decoding: data, as: UTF8.self)
        #expect(json.contains("\"imagePNG\":\"iVBOR"))   // base64 PNG, not a number array
        let back = try ReportInput.makeJSONDecoder().decode(ReportInput.self, from: data)
        #expect(back.predictions == input.predictions)
        #expect(back.labels == input.labels && back.embeddings == input.embeddings)
        #expect(back.history[1].trainLoss.isNaN)
        #expect(back.metrics == input.metrics)
        #expect(back.createdAt == input.createdAt)
        // Lenient decoding: minimal JSON, byte-array images.
        let minimal = #"{"title":"m","predictions":[{"imagePNG":[137,80],"trueLabel":0,"probabilities":[1]}]}"#
        let m = try ReportInput.makeJSONDecoder().decode(ReportInput.self, from: Data(minimal.utf8))
        #expect(m.predictions[0].imagePNG == [137, 80] && m.history.isEmpty && m.embeddings.isEmpty)
    }

    @Test func tinyPNGIsWellFormed() {
        let p = Sample.png(seed: 1)
        #expect(Array(p.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(TinyPNG.crc32(Array("IEND".utf8)) == 0xAE42_6082)
        #expect(TinyPNG.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
        #expect(Array(p.suffix(8)) == [0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82])
    }

    /// Writes a sample report when REPORTS_SAMPLE_HTML is set (used for the visual check).
    @Test func writeSampleReportIfRequested() throws {
        guard let path = ProcessInfo.processInfo.environment["REPORTS_SAMPLE_HTML"] else { return }
        let html = HTMLReport.render(Sample.input(nanEpoch: 9))
        try html.write(toFile: path, atomically: true, encoding: .utf8)
        // Edge-case variants next to it: <path>.empty.html, <path>.many.html, <path>.oneclass.html
        try HTMLReport.render(ReportInput(title: "Empty report")).write(toFile: path + ".empty.html", atomically: true, encoding: .utf8)
        try HTMLReport.render(Sample.input(classes: 40, withVal: false, embeddings: 2000, predictions: 80))
            .write(toFile: path + ".many.html", atomically: true, encoding: .utf8)
        try HTMLReport.render(Sample.input(classes: 1, epochs: 1, embeddings: 0, predictions: 4))
            .write(toFile: path + ".oneclass.html", atomically: true, encoding: .utf8)
    }
}

extension HTMLReport.Options {
    /// Tests that are not about the t-SNE map keep it small.
    static let quick = HTMLReport.Options(maxTSNEPoints: 60)
}
