import ArgumentParser
import Foundation
import NeuralNet
import Training

/// Where `eval` and `report` get labelled images: a dataset folder or the built-in demo set.
struct DatasetOptions: ParsableArguments {
    @Argument(help: "Dataset root with train/ (and optionally val/ and test/) class folders.")
    var dataDir: String?

    @Flag(help: "Use the built-in demo dataset (same options as `boundary train --demo`).")
    var demo = false

    @Option(help: "A multi-head model's CSV manifest (as `boundary train --manifest` takes).")
    var manifest: String?

    @Option(help: "Which split to evaluate: test, val or train.") var split: String = "test"
    @Option(help: "Demo dataset: images per class in train (val and test get a fifth each).") var demoPerClass: Int = 500
    @Option(help: "Demo dataset: number of classes.") var demoClasses: Int = 10
    @Option(help: "Demo dataset: class overlap in [0, 1].") var demoOverlap: Double = 0.3
    @Option(help: "Demo dataset seed.") var demoSeed: UInt64 = 0
    @Option(help: "Share of train/ held out for validation when val/ is absent.") var valShare: Double = 0.1

    func validate() throws {
        if [demo, dataDir != nil, manifest != nil].filter({ $0 }).count != 1 {
            throw ValidationError("give one of DATA_DIR, --demo or --manifest FILE.csv")
        }
        guard ["test", "val", "train"].contains(split) else { throw ValidationError("--split must be test, val or train") }
    }

    /// The requested split, decoded at the model's input size.
    func images(for model: ModelSpec, threads: Int) throws -> (images: DecodedImages, skipped: [SkippedFile]) {
        if demo {
            let data = LoadedDataset.demo(perClass: demoPerClass, classes: demoClasses, overlap: demoOverlap,
                                          input: model.input, seed: demoSeed)
            try checkLabels(data.classNames, model)
            return (pick(data.train, data.validation, data.test), [])
        }
        if let manifest {
            guard let heads = model.heads else {
                throw ValidationError("--manifest is for multi-head models; this one has one head (give DATA_DIR)")
            }
            let parsed = try ImageManifest(url: URL(fileURLWithPath: manifest), validationShare: valShare, heads: heads)
            let files = split == "test" ? parsed.test : split == "val" ? parsed.validation : parsed.train
            guard !files.isEmpty else { throw ValidationError("\(manifest) has no \(split) rows") }
            let decoded = DecodedImages.load(files, input: model.input, threads: threads)
            return (decoded, decoded.skipped)
        }
        guard !model.isMultiHead else { throw ValidationError("a multi-head model is evaluated on a --manifest") }
        let folder = try ImageFolder(root: URL(fileURLWithPath: dataDir!), validationShare: valShare)
        try checkLabels(folder.classNames, model)
        let files = split == "test" ? folder.test : split == "val" ? folder.validation : folder.train
        guard !files.isEmpty else { throw ValidationError("\(dataDir!) has no images in its \(split) split") }
        let decoded = DecodedImages.load(files, input: model.input, threads: threads)
        return (decoded, decoded.skipped)
    }

    private func pick(_ train: DecodedImages, _ val: DecodedImages, _ test: DecodedImages) -> DecodedImages {
        split == "test" ? test : split == "val" ? val : train
    }

    private func checkLabels(_ names: [String], _ model: ModelSpec) throws {
        guard names == model.labels else {
            throw ValidationError("the dataset's classes \(names) differ from the model's labels \(model.labels)")
        }
    }
}
