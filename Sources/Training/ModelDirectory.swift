import DurableIO
import Foundation
import NeuralNet
import Reports

/// A trained model on disk, in the layout `boundary serve` loads:
///
///     MODEL/model.safetensors   weights + BatchNorm statistics, model spec in the metadata
///     MODEL/spec.json           the model spec (input size, normalisation, layers, labels)
///     MODEL/labels.txt          one class label per line
///     MODEL/history.json|csv    per-epoch training history
///     MODEL/metrics.json        evaluation metrics of the saved weights (when known)
///     MODEL/training.json       how it was trained (data, seed, epochs, counts, parent)
///
/// Every file is written atomically (temporary name, fsync, rename), the checkpoint last, so a
/// reader that finds model.safetensors finds everything else complete.
public enum ModelDirectory {
    public static let checkpointName = "model.safetensors"

    public static func write(
        _ network: Network, to directory: URL, history: [EpochRecord] = [],
        metrics: Data? = nil, training: TrainingRecord? = nil
    ) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try DurableFile.write(try network.spec.jsonData(), to: directory.appendingPathComponent("spec.json"))
        try DurableFile.write(Data((network.spec.labels.joined(separator: "\n") + "\n").utf8),
                              to: directory.appendingPathComponent("labels.txt"))
        let encoder = ReportInput.makeJSONEncoder(pretty: true)
        if !history.isEmpty {
            try DurableFile.write(try encoder.encode(history), to: directory.appendingPathComponent("history.json"))
            try DurableFile.write(Data(historyCSV(history).utf8), to: directory.appendingPathComponent("history.csv"))
        }
        if let metrics { try DurableFile.write(metrics, to: directory.appendingPathComponent("metrics.json")) }
        if let training {
            try DurableFile.write(try encoder.encode(training), to: directory.appendingPathComponent(TrainingRecord.fileName))
        }
        try network.save(to: directory.appendingPathComponent(checkpointName))
    }

    /// Loads the network from `directory` (or from a checkpoint file given directly).
    public static func load(_ url: URL, threads: Int = 1) throws -> Network {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ModelDirectoryError.notFound(path: url.path)
        }
        let checkpoint = isDirectory.boolValue ? url.appendingPathComponent(checkpointName) : url
        guard FileManager.default.fileExists(atPath: checkpoint.path) else {
            throw ModelDirectoryError.noCheckpoint(path: url.path)
        }
        return try Network(contentsOf: checkpoint, threads: threads)
    }

    public static func history(in directory: URL) -> [EpochRecord] {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("history.json").path) else { return [] }
        return (try? ReportInput.makeJSONDecoder().decode([EpochRecord].self, from: data)) ?? []
    }

    /// The epoch whose weights were kept, from training.json.
    public static func bestEpoch(in directory: URL) -> Int? {
        (try? TrainingRecord.load(from: directory))??.bestEpoch  // A report without it just omits the marker.
    }

    static func historyCSV(_ history: [EpochRecord]) -> String {
        func f(_ x: Double?) -> String { x.map { String($0) } ?? "" }
        var lines = ["epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds"]
        for r in history {
            lines.append([String(r.epoch), f(r.trainLoss), f(r.trainAccuracy), f(r.valLoss), f(r.valAccuracy),
                          f(r.learningRate), f(r.seconds)].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

public enum ModelDirectoryError: Error, CustomStringConvertible {
    case notFound(path: String)
    case noCheckpoint(path: String)

    public var description: String {
        switch self {
        case .notFound(let path): "no model at \(path)"
        case .noCheckpoint(let path): "\(path) has no \(ModelDirectory.checkpointName): is it a model directory written by `boundary train`?"
        }
    }
}
