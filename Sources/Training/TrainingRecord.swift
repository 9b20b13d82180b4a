import Foundation

/// `training.json`: how a model directory's weights were trained. Retrains read `dataSource` to
/// find the base data they replay and evaluate on, so it is a typed value, not prose.
///
/// Files written before this type (every value a string, the data as `"source": "demo(classes:
/// 10, perClass: 500, overlap: 0.3, seed: 0)"` or a folder path) still load.
public struct TrainingRecord: Codable, Sendable, Equatable {
    public enum DataSource: Codable, Sendable, Equatable, CustomStringConvertible {
        /// The built-in procedural dataset (`DemoDataset`).
        case demo(classes: Int, perClass: Int, overlap: Double, seed: UInt64)
        /// An ImageFolder (`train/`, `val/`, `test/` class folders) at an absolute path.
        case imageFolder(path: String)
        /// A CSV manifest of images with one label column per head, at an absolute path.
        case manifest(path: String)
        /// Something this version cannot use as base data (kept verbatim).
        case other(String)

        public var description: String {
            switch self {
            case .demo(let classes, let perClass, let overlap, let seed):
                "demo(classes: \(classes), perClass: \(perClass), overlap: \(overlap), seed: \(seed))"
            case .imageFolder(let path): path
            case .manifest(let path): path
            case .other(let text): text
            }
        }

        /// Reads the free-text `source` of older training.json files.
        public init(legacy text: String) {
            if text.hasPrefix("demo("), text.hasSuffix(")") {
                var values: [String: String] = [:]
                for part in text.dropFirst(5).dropLast().split(separator: ",") {
                    let pair = part.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
                    if pair.count == 2 { values[pair[0]] = pair[1] }
                }
                if let classes = values["classes"].flatMap(Int.init), let overlap = values["overlap"].flatMap(Double.init),
                   let seed = values["seed"].flatMap(UInt64.init) {
                    self = .demo(classes: classes, perClass: values["perClass"].flatMap(Int.init) ?? 0, overlap: overlap, seed: seed)
                    return
                }
            }
            self = text.hasPrefix("/") ? .imageFolder(path: text) : .other(text)
        }
    }

    public var dataSource: DataSource
    /// The model spec's name.
    public var spec: String?
    public var epochs: Int?
    public var seed: UInt64?
    public var trainImages: Int?
    public var validationImages: Int?
    /// The epoch whose weights were kept.
    public var bestEpoch: Int?
    /// "full", "head" or "unfreeze-N".
    public var mode: String?
    /// The model directory fine-tuned from (`train --from`).
    public var parent: String?
    /// The share of train rows held out for validation when the data named no validation split
    /// (`--val-share`): a retrain must hold out the same images to judge on data never trained on.
    public var validationShare: Double?

    public init(dataSource: DataSource, spec: String? = nil, epochs: Int? = nil, seed: UInt64? = nil, trainImages: Int? = nil,
                validationImages: Int? = nil, bestEpoch: Int? = nil, mode: String? = nil, parent: String? = nil,
                validationShare: Double? = nil) {
        self.validationShare = validationShare
        self.dataSource = dataSource
        self.spec = spec
        self.epochs = epochs
        self.seed = seed
        self.trainImages = trainImages
        self.validationImages = validationImages
        self.bestEpoch = bestEpoch
        self.mode = mode
        self.parent = parent
    }

    enum CodingKeys: String, CodingKey {
        case format, dataSource = "data_source", source, spec, epochs, seed, trainImages = "train_images"
        case validationImages = "val_images", bestEpoch = "best_epoch", mode, parent, validationShare = "val_share"
    }

    public static let format = 2

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // Version 1 stored every value as a string; version 2 stores numbers as numbers.
        func number<T: LosslessStringConvertible & Decodable>(_ key: CodingKeys) -> T? {
            (try? container.decodeIfPresent(T.self, forKey: key)) ?? (try? container.decodeIfPresent(String.self, forKey: key))
                .flatMap { $0.flatMap(T.init) }
        }
        if let source = try container.decodeIfPresent(DataSource.self, forKey: .dataSource) {
            dataSource = source
        } else {
            dataSource = DataSource(legacy: try container.decodeIfPresent(String.self, forKey: .source) ?? "")
        }
        spec = try container.decodeIfPresent(String.self, forKey: .spec)
        epochs = number(.epochs)
        seed = number(.seed)
        trainImages = number(.trainImages)
        validationImages = number(.validationImages)
        bestEpoch = number(.bestEpoch)
        mode = try container.decodeIfPresent(String.self, forKey: .mode)
        parent = try container.decodeIfPresent(String.self, forKey: .parent)
        validationShare = try container.decodeIfPresent(Double.self, forKey: .validationShare)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.format, forKey: .format)
        try container.encode(dataSource, forKey: .dataSource)
        try container.encode(dataSource.description, forKey: .source)  // For people and older readers.
        try container.encodeIfPresent(spec, forKey: .spec)
        try container.encodeIfPresent(epochs, forKey: .epochs)
        try container.encodeIfPresent(seed, forKey: .seed)
        try container.encodeIfPresent(trainImages, forKey: .trainImages)
        try container.encodeIfPresent(validationImages, forKey: .validationImages)
        try container.encodeIfPresent(bestEpoch, forKey: .bestEpoch)
        try container.encodeIfPresent(mode, forKey: .mode)
        try container.encodeIfPresent(parent, forKey: .parent)
        try container.encodeIfPresent(validationShare, forKey: .validationShare)
    }

    /// The record as a registry version's lineage (strings, for people and ListModels).
    public var lineage: [String: String] {
        var lineage = ["source": dataSource.description]
        lineage["spec"] = spec
        lineage["epochs"] = epochs.map(String.init)
        lineage["seed"] = seed.map(String.init)
        lineage["train_images"] = trainImages.map(String.init)
        lineage["val_images"] = validationImages.map(String.init)
        lineage["best_epoch"] = bestEpoch.map(String.init)
        lineage["mode"] = mode
        lineage["parent"] = parent
        return lineage
    }

    public static let fileName = "training.json"

    /// The record in a model directory; nil when it has none. A file that exists but does not
    /// parse is an error (a retrain must not silently lose its base data).
    public static func load(from directory: URL) throws -> TrainingRecord? {
        let url = directory.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return try JSONDecoder().decode(TrainingRecord.self, from: data)
    }
}
