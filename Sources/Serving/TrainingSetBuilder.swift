import Crypto
import DemoData
import FeedbackStore
import Foundation
import Imaging
import NeuralNet
import Tensor
import Training

/// Turns queued feedback and the model's base data into a retrain's training and held-out sets.
///
/// - Feedback: kept → `.label(L)`, corrected → `.label(true)`, deselected → `.notLabel(L)`
///   (the complementary-label loss); deselected and corrected samples are boundary samples.
///   A deterministic 20% of images (by a hash of the image id) is held out and never trained on.
/// - Base data: the model's training data as training.json names it — the built-in demo dataset,
///   or an ImageFolder still at its path. Replay draws from its train split and its validation
///   split is the base held-out set. Models whose data is gone retrain on feedback alone and are
///   judged on held-out feedback.
struct TrainingSetBuilder {
    let spec: ModelSpec
    let modelDirectory: URL
    let store: any FeedbackStore

    struct Sets {
        var train: [LabelledInput] = []
        var heldOut: [LabelledInput] = []
        /// What each sample's embedding is cached under: the image id for feedback, a
        /// `demo:SPLIT:INDEX` key for base data.
        var trainKeys: [String] = []
        var heldOutKeys: [String] = []
        var feedbackTrain = 0
        var replay = 0
        var consumedSampleIDs: [Int64] = []
        /// SHA-256 over the training samples' image ids and targets, for lineage.
        var hash = ""
    }

    static let heldOutShare = 5  // 1 in 5 images.

    func build(pending: [StoredSample], replayRatio: Float, seed: UInt64) throws -> Sets {
        var sets = Sets()
        let labelIndex = Dictionary(uniqueKeysWithValues: spec.labels.enumerated().map { ($1, $0) })
        var digest = SHA256()
        for stored in pending {
            guard let index = labelIndex[stored.sample.label], let bytes = try store.imageBytes(stored.sample.imageID),
                  let input = try? preprocess(bytes) else { continue }
            let target: Target = stored.sample.kind == .negative ? .notLabel(index) : .label(index)
            let sample = LabelledInput(input: input, target: target, isBoundary: stored.sample.kind != .positive)
            if Self.isHeldOut(stored.sample.imageID) {
                sets.heldOut.append(sample)
                sets.heldOutKeys.append(stored.sample.imageID)
            } else {
                sets.train.append(sample)
                sets.trainKeys.append(stored.sample.imageID)
                sets.consumedSampleIDs.append(stored.id)
                digest.update(data: Data("\(stored.sample.imageID):\(target)\n".utf8))
            }
        }
        sets.feedbackTrain = sets.train.count
        let replayCount = replayRatio > 0 ? min(Self.maxReplay, Int((Float(sets.feedbackTrain) * replayRatio).rounded())) : 0
        let base = try baseSets(replay: replayCount)
        sets.train += base.replay
        sets.trainKeys += base.replayKeys
        for key in base.replayKeys { digest.update(data: Data("\(key)\n".utf8)) }
        sets.replay = base.replay.count
        sets.heldOut += base.heldOut
        sets.heldOutKeys += base.heldOutKeys
        sets.hash = digest.finalize().map { String(format: "%02x", $0) }.joined()
        return sets
    }

    static let maxReplay = 4000
    static let baseHeldOut = 300

    /// The base data: the first `replay` images of the demo train split (class-balanced, the same
    /// ones every time, so their embeddings can be cached) and the validation split's first 300.
    func baseSets(replay: Int) throws -> (replay: [LabelledInput], replayKeys: [String], heldOut: [LabelledInput], heldOutKeys: [String]) {
        if let folder = imageFolder() { return try folderSets(folder, replay: replay) }
        guard let demo = demoDataset() else { return ([], [], [], []) }
        let labelIndex = Dictionary(uniqueKeysWithValues: spec.labels.enumerated().map { ($1, $0) })
        var result: (replay: [LabelledInput], replayKeys: [String], heldOut: [LabelledInput], heldOutKeys: [String]) = ([], [], [], [])
        for sample in demo.samples(.train, count: replay) {
            guard let index = labelIndex[demo.classNames[sample.label]] else { continue }
            result.replay.append(LabelledInput(input: try render(demo, sample, split: .train), target: .label(index), isBoundary: false))
            result.replayKeys.append("demo:train:\(sample.index)")
        }
        for sample in demo.samples(.val, count: Self.baseHeldOut) {
            guard let index = labelIndex[demo.classNames[sample.label]] else { continue }
            result.heldOut.append(LabelledInput(input: try render(demo, sample, split: .val), target: .label(index), isBoundary: false))
            result.heldOutKeys.append("demo:val:\(sample.index)")
        }
        return result
    }

    /// The feedback share kept out of training, fixed per image so it never leaks across retrains.
    static func isHeldOut(_ imageID: String) -> Bool {
        (UInt8(imageID.prefix(2), radix: 16) ?? 0) % UInt8(heldOutShare) == 0
    }

    private func preprocess(_ bytes: Data) throws -> [Float] {
        try ImageInput.preprocess(bytes, spec: PreprocessSpec(spec.input))
    }

    private func render(_ demo: DemoDataset, _ sample: DemoDataset.Sample, split: DemoDataset.Split) throws -> [Float] {
        guard let image = RGBImage(width: demo.imageSize, height: demo.imageSize, pixels: demo.render(sample, split: split)) else {
            throw ServingError.invalidArgument("demo image has the wrong size")
        }
        let preprocess = PreprocessSpec(spec.input)
        var input = [Float](repeating: 0, count: preprocess.floatsPerImage)
        try input.withUnsafeMutableBufferPointer { buffer in
            try Preprocessor.preprocess(image, spec: preprocess, into: buffer.baseAddress!)
        }
        return input
    }

    /// The ImageFolder the model was trained on (training.json's `source` is its path), when it is
    /// still there.
    func imageFolder() -> ImageFolder? {
        let url = modelDirectory.appendingPathComponent("training.json")
        guard let data = FileManager.default.contents(atPath: url.path),
              let info = try? JSONDecoder().decode([String: String].self, from: data),
              let source = info["source"], source.hasPrefix("/") else { return nil }
        return try? ImageFolder(root: URL(fileURLWithPath: source))
    }

    /// Replay from the folder's train split and held-out images from its validation split, each
    /// spread evenly over the (class-sorted) file list so every class is represented.
    private func folderSets(_ folder: ImageFolder, replay: Int)
        throws -> (replay: [LabelledInput], replayKeys: [String], heldOut: [LabelledInput], heldOutKeys: [String]) {
        let labelIndex = Dictionary(uniqueKeysWithValues: spec.labels.enumerated().map { ($1, $0) })
        func spread(_ files: [LabeledFile], _ count: Int) -> [LabeledFile] {
            guard count > 0, !files.isEmpty else { return [] }
            let step = max(1, files.count / count)
            return Array(stride(from: 0, to: files.count, by: step).prefix(count).map { files[$0] })
        }
        func load(_ files: [LabeledFile]) -> (inputs: [LabelledInput], keys: [String]) {
            var result: (inputs: [LabelledInput], keys: [String]) = ([], [])
            for file in files {
                guard let index = labelIndex[folder.classNames[file.label]],
                      let bytes = FileManager.default.contents(atPath: file.path),
                      let input = try? preprocess(bytes) else { continue }  // Unreadable now: skip it.
                result.inputs.append(LabelledInput(input: input, target: .label(index), isBoundary: false))
                result.keys.append("folder:" + file.path)
            }
            return result
        }
        let replayed = load(spread(folder.train, replay))
        let heldOut = load(spread(folder.validation, Self.baseHeldOut))
        return (replayed.inputs, replayed.keys, heldOut.inputs, heldOut.keys)
    }

    /// The demo dataset named by training.json's `source`, e.g.
    /// "demo(classes: 10, perClass: 500, overlap: 0.3, seed: 0)".
    func demoDataset() -> DemoDataset? {
        let url = modelDirectory.appendingPathComponent("training.json")
        guard let data = FileManager.default.contents(atPath: url.path),
              let info = try? JSONDecoder().decode([String: String].self, from: data),
              let source = info["source"], source.hasPrefix("demo(") else { return nil }
        var values: [String: String] = [:]
        for part in source.dropFirst(5).dropLast().split(separator: ",") {
            let pair = part.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2 { values[pair[0]] = pair[1] }
        }
        guard let classes = values["classes"].flatMap(Int.init), let overlap = values["overlap"].flatMap(Double.init),
              let seed = values["seed"].flatMap(UInt64.init), spec.input.height == spec.input.width else { return nil }
        return DemoDataset(classCount: classes, imageSize: spec.input.height, overlap: overlap, seed: seed)
    }
}
