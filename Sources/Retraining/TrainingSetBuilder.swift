import Crypto
import DemoData
import FeedbackStore
import Foundation
import Imaging
import NeuralNet
import Serving
import Training

/// Turns stored feedback and the model's base data into inputs a retrain trains and judges on.
///
/// - Feedback: kept → `.label(L)`, corrected → `.label(true)`, deselected → `.notLabel(L)` (the
///   complementary-label loss); deselected and corrected samples are boundary samples.
/// - Base data: what `training.json`'s data source names — the built-in demo dataset, or an
///   ImageFolder or a multi-head manifest still at its path (a manifest image gives one sample
///   per head it is labelled for). Replay draws from its train split; its validation split tops
///   up the evaluation set so every class has enough samples. Models whose data is gone retrain
///   on feedback alone and are judged on held-out feedback.
struct TrainingSetBuilder {
    let spec: ModelSpec
    let modelDirectory: URL
    let store: any FeedbackStore

    /// A sample ready for the network, with where it came from.
    struct Item {
        var key: SampleKey
        var input: LabelledInput
        /// The stored sample, for feedback.
        var stored: StoredSample?
    }

    /// Feedback inputs, and the samples that cannot be used with the reason.
    func feedback(_ samples: [StoredSample]) throws -> (usable: [Item], unusable: [(id: Int64, reason: String)]) {
        let labelIndex = Dictionary(uniqueKeysWithValues: spec.labels.enumerated().map { ($1, $0) })
        var usable: [Item] = [], unusable: [(id: Int64, reason: String)] = []
        let preprocess = PreprocessSpec(spec.input)
        for stored in samples {
            guard let index = labelIndex[stored.sample.label] else {
                unusable.append((stored.id, "label '\(stored.sample.label)' is not one of the model's"))
                continue
            }
            guard let bytes = try store.imageBytes(stored.sample.imageID) else {
                unusable.append((stored.id, "image bytes no longer stored"))
                continue
            }
            let input: [Float]
            do {
                input = try ImageInput.preprocess(bytes, spec: preprocess)
            } catch {
                unusable.append((stored.id, "image cannot be decoded: \(error)"))
                continue
            }
            let target: Target = stored.sample.kind == .negative ? .notLabel(index) : .label(index)
            usable.append(Item(key: .image(stored.sample.imageID),
                               input: LabelledInput(input: input, target: target, isBoundary: stored.sample.kind != .positive),
                               stored: stored))
        }
        return (usable, unusable)
    }

    /// SHA-256 over the training samples' keys and targets, for lineage.
    static func hash(_ items: [Item]) -> String {
        var digest = SHA256()
        for item in items { digest.update(data: Data("\(item.key.storageKey):\(item.input.target)\n".utf8)) }
        return Predictor.hex(digest.finalize())
    }

    static let maxReplay = 4000
    /// Base evaluation images at least (more when the per-class minimum needs them).
    static let baseEvaluation = 300

    /// The first `count` images of the base train split, class-balanced and the same ones every
    /// time, so their embeddings stay cached. `heads` limits a multi-head model's replay to the
    /// heads feedback named (a head-only retrain then leaves the others' weights as they were).
    func replayItems(count: Int, heads: Set<Int>? = nil) throws -> [Item] {
        guard count > 0 else { return [] }
        switch try baseData() {
        case .demo(let demo): return try demoItems(demo, .train, count: count)
        case .folder(let folder): return folderItems(folder, spread(folder.train, count))
        case .manifest(let manifest): return manifestBalanced(manifest.train, total: count, heads: heads)
        case .none: return []
        }
    }

    /// Base validation images for the evaluation set: an equal share per class, `perClass` each
    /// at least and `baseEvaluation` in all.
    func evaluationItems(perClass minimum: Int) throws -> [Item] {
        let count = max(Self.baseEvaluation, minimum * spec.labels.count)
        switch try baseData() {
        case .demo(let demo): return try demoItems(demo, .val, count: count)
        case .folder(let folder): return folderItems(folder, perClass(folder.validation, classes: folder.classNames.count, total: count))
        case .manifest(let manifest): return manifestBalanced(manifest.validation, total: count)
        case .none: return []
        }
    }

    private enum BaseData {
        case demo(DemoDataset)
        case folder(ImageFolder)
        case manifest(ImageManifest)
        case none
    }

    /// The data training.json names, when it can still be read.
    private func baseData() throws -> BaseData {
        let record = try TrainingRecord.load(from: modelDirectory)
        // The images training held out for validation, whatever --val-share it used.
        let share = record?.validationShare ?? 0.1
        switch record?.dataSource {
        case .demo(let classes, _, let overlap, let seed)? where spec.input.height == spec.input.width:
            return .demo(DemoDataset(classCount: classes, imageSize: spec.input.height, overlap: overlap, seed: seed))
        case .imageFolder(let path)?:
            // Moved or deleted since training: the retrain runs on feedback alone.
            return (try? ImageFolder(root: URL(fileURLWithPath: path), validationShare: share)).map(BaseData.folder) ?? .none
        case .manifest(let path)?:
            // Only while it still describes this model's heads.
            guard let manifest = try? ImageManifest(url: URL(fileURLWithPath: path), validationShare: share),
                  manifest.heads == spec.heads else { return .none }
            return .manifest(manifest)
        default:
            return .none
        }
    }

    private func demoItems(_ demo: DemoDataset, _ split: DemoDataset.Split, count: Int) throws -> [Item] {
        let labelIndex = Dictionary(uniqueKeysWithValues: spec.labels.enumerated().map { ($1, $0) })
        let preprocess = PreprocessSpec(spec.input)
        return try demo.samples(split, count: count).compactMap { sample in
            guard let index = labelIndex[demo.classNames[sample.label]],
                  let image = RGBImage(width: demo.imageSize, height: demo.imageSize, pixels: demo.render(sample, split: split))
            else { return nil }
            var input = [Float](repeating: 0, count: preprocess.floatsPerImage)
            try input.withUnsafeMutableBufferPointer { try Preprocessor.preprocess(image, spec: preprocess, into: $0.baseAddress!) }
            return Item(key: .demo(split, index: sample.index),
                        input: LabelledInput(input: input, target: .label(index), isBoundary: false))
        }
    }

    /// `count` files spread evenly over the (class-sorted) list.
    private func spread(_ files: [LabeledFile], _ count: Int) -> [LabeledFile] {
        guard count > 0, !files.isEmpty else { return [] }
        let step = max(1, files.count / count)
        return Array(stride(from: 0, to: files.count, by: step).prefix(count).map { files[$0] })
    }

    /// An equal share of `total` from each class.
    private func perClass(_ files: [LabeledFile], classes: Int, total: Int) -> [LabeledFile] {
        let share = (total + max(classes, 1) - 1) / max(classes, 1)
        return Dictionary(grouping: files, by: \.label).sorted { $0.key < $1.key }.flatMap { spread($0.value, share) }
    }

    private func folderItems(_ folder: ImageFolder, _ files: [LabeledFile]) -> [Item] {
        let labelIndex = Dictionary(uniqueKeysWithValues: spec.labels.enumerated().map { ($1, $0) })
        let preprocess = PreprocessSpec(spec.input)
        return files.compactMap { file in
            // Base data unreadable now (edited since training) is left out; the evidence check counts what remains.
            guard let index = labelIndex[folder.classNames[file.label]],
                  let bytes = FileManager.default.contents(atPath: file.path),
                  let input = try? ImageInput.preprocess(bytes, spec: preprocess) else { return nil }
            return Item(key: .folder(path: file.path), input: LabelledInput(input: input, target: .label(index), isBoundary: false))
        }
    }

    /// One sample per labelled head of each manifest file, targets indexing the whole label list.
    private func manifestItems(_ files: [LabeledFile], heads only: Int? = nil) -> [Item] {
        let heads = spec.outputHeads, preprocess = PreprocessSpec(spec.input)
        return files.flatMap { file -> [Item] in
            guard let bytes = FileManager.default.contents(atPath: file.path),
                  let input = try? ImageInput.preprocess(bytes, spec: preprocess) else { return [] }
            return file.headLabels.enumerated().compactMap { h, label in
                guard let label, only == nil || only == h else { return nil }
                return Item(key: .folder(path: file.path),
                            input: LabelledInput(input: input, target: .label(heads[h].offset + label), isBoundary: false))
            }
        }
    }

    /// Samples with an equal share of `total` for every label of every head. (A manifest's rows
    /// are in no class order, so an even spread over them could replay one class alone, and
    /// the gate rightly refuses what that does to the other labels.)
    private func manifestBalanced(_ files: [LabeledFile], total: Int, heads chosen: Set<Int>? = nil) -> [Item] {
        let heads = spec.outputHeads
        let picked = heads.indices.filter { chosen?.contains($0) ?? true }
        let labels = picked.map { heads[$0].count }.reduce(0, +)
        let share = (total + max(labels, 1) - 1) / max(labels, 1)
        return picked.flatMap { h in
            (0..<heads[h].count).flatMap { label in
                manifestItems(spread(files.filter { $0.headLabels[h] == label }, share), heads: h)
            }
        }
    }
}
