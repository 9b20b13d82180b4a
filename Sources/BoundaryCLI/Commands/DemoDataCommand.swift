import ArgumentParser
import DemoData
import Foundation
import Imaging

/// `boundary demo-data OUT`: write the built-in procedural dataset as an ImageFolder tree.
struct DemoDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-data",
        abstract: "Write the built-in demo dataset as OUT/{train,val,test}/<class>/*.png plus manifest.csv and heads.csv.",
        discussion: """
        Ten classes in five confusable pairs (blobs/grass, checker/crosshatch, square/triangle, dots/rings,
        horizontal/vertical stripes). --overlap sets how many images are morphed toward their pair's other
        class; manifest.csv lists each image's ambiguity (0.5 = exactly on the decision boundary). heads.csv is
        a two-head manifest for `boundary train --manifest`: each image's class, and whether it is blended
        toward its pair's class.
        """
    )

    @Argument(help: "Output directory (created if missing).")
    var out: String

    @Option(help: "Training images per class; val and test get a fifth of that each.") var perClass: Int = 500
    @Option(help: "Number of classes (2-10).") var classes: Int = 10
    @Option(help: "Image side in pixels.") var size: Int = 64
    @Option(help: "Class overlap in [0, 1].") var overlap: Double = 0.3
    @Option var seed: UInt64 = 0

    func validate() throws {
        guard (2...DemoDataset.defaultClassNames.count).contains(classes) else {
            throw ValidationError("--classes must be between 2 and \(DemoDataset.defaultClassNames.count)")
        }
        guard perClass > 0, (8...1024).contains(size) else { throw ValidationError("--per-class must be positive and --size between 8 and 1024") }
        guard (0...1).contains(overlap) else { throw ValidationError("--overlap must be in [0, 1]") }
    }

    func run() throws {
        let dataset = DemoDataset(classCount: classes, imageSize: size, overlap: overlap, seed: seed)
        let evaluation = max(perClass / 5, 1) * classes
        let counts = try dataset.writeImageFolder(
            to: URL(fileURLWithPath: out),
            counts: [.train: perClass * classes, .val: evaluation, .test: evaluation]
        ) { rgb, width, height in
            (try PNGEncoder.encode(pixels: rgb, width: width, height: height, channels: .rgb), "png")
        }
        let summary = DemoDataset.Split.allCases.map { "\($0.rawValue) \(counts[$0] ?? 0)" }.joined(separator: ", ")
        print("wrote \(summary) images of \(classes) classes to \(out)")
    }
}
