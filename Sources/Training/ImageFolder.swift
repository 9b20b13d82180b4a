import Foundation

/// One image file and its class index (for a multi-head dataset, its label index per head, nil
/// where the manifest leaves the cell empty; `label` is then unused).
public struct LabeledFile: Sendable, Hashable {
    public let path: String
    public let label: Int
    public let headLabels: [Int?]

    public init(path: String, label: Int) {
        self.path = path
        self.label = label
        headLabels = []
    }

    public init(path: String, headLabels: [Int?]) {
        self.path = path
        label = -1
        self.headLabels = headLabels
    }
}

public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case notADirectory(path: String)
    case noClasses(path: String)
    case unknownClasses(split: String, names: [String], known: [String])
    case emptySplit(split: String, path: String)

    public var description: String {
        switch self {
        case .notADirectory(let path):
            "\(path) is not a directory: expected DATA_DIR/train/<class>/*.jpg (and optionally val/ and test/)"
        case .noClasses(let path):
            "\(path) has no class folders: put each class's images in its own sub-folder, e.g. \(path)/cat/1.jpg"
        case .unknownClasses(let split, let names, let known):
            "\(split)/ has class folders that train/ does not: \(names.joined(separator: ", ")) (train/ has \(known.joined(separator: ", ")))"
        case .emptySplit(let split, let path):
            "\(path) has no images in \(split)/"
        }
    }
}

/// A `train/`, `val/`, `test/` tree of class folders — the layout of Keras'
/// `image_dataset_from_directory` and torchvision's `ImageFolder`.
///
/// Class names are the sub-folders of `train/`, sorted. When `val/` is absent, a deterministic
/// share of `train/` is held out by hashing each file's class and name, so the split does not depend
/// on directory order and survives adding new files. Files are listed, not decoded, here: unreadable
/// images are reported and skipped when they are loaded.
public struct ImageFolder: Sendable {
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    public let root: URL
    public let classNames: [String]
    public private(set) var train: [LabeledFile] = []
    public private(set) var validation: [LabeledFile] = []
    public private(set) var test: [LabeledFile] = []
    /// True when `validation` was split off `train/` rather than read from `val/`.
    public let validationWasSplitOff: Bool

    public init(root: URL, validationShare: Double = 0.1) throws {
        self.root = root
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        let trainURL = root.appendingPathComponent("train")
        guard fm.fileExists(atPath: trainURL.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError.notADirectory(path: trainURL.path)
        }
        classNames = try ImageFolder.classFolders(in: trainURL)
        guard !classNames.isEmpty else { throw DatasetError.noClasses(path: trainURL.path) }
        let all = try ImageFolder.files(in: trainURL, classNames: classNames, split: "train")
        guard !all.isEmpty else { throw DatasetError.emptySplit(split: "train", path: root.path) }
        let valURL = root.appendingPathComponent("val")
        if fm.fileExists(atPath: valURL.path) {
            validationWasSplitOff = false
            train = all
            validation = try ImageFolder.files(in: valURL, classNames: classNames, split: "val")
        } else {
            validationWasSplitOff = true
            for file in all {
                if ImageFolder.isHeldOut(file.path, relativeTo: trainURL, share: validationShare) {
                    validation.append(file)
                } else {
                    train.append(file)
                }
            }
        }
        let testURL = root.appendingPathComponent("test")
        if fm.fileExists(atPath: testURL.path) {
            test = try ImageFolder.files(in: testURL, classNames: classNames, split: "test")
        }
    }

    static func classFolders(in url: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path)
            .filter { name in
                var isDirectory: ObjCBool = false
                return !name.hasPrefix(".")
                    && FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path, isDirectory: &isDirectory)
                    && isDirectory.boolValue
            }
            .sorted()
    }

    static func files(in url: URL, classNames: [String], split: String) throws -> [LabeledFile] {
        let folders = try classFolders(in: url)
        let unknown = folders.filter { !classNames.contains($0) }
        guard unknown.isEmpty else { throw DatasetError.unknownClasses(split: split, names: unknown, known: classNames) }
        var files: [LabeledFile] = []
        for (label, name) in classNames.enumerated() where folders.contains(name) {
            let folder = url.appendingPathComponent(name)
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
            for file in names where !file.hasPrefix(".") {
                let ext = (file as NSString).pathExtension.lowercased()
                guard imageExtensions.contains(ext) else { continue }
                files.append(LabeledFile(path: folder.appendingPathComponent(file).path, label: label))
            }
        }
        return files
    }

    /// FNV-1a of "class/file" decides membership: stable across machines and directory orders.
    static func isHeldOut(_ path: String, relativeTo root: URL, share: Double) -> Bool {
        let relative = path.hasPrefix(root.path) ? String(path.dropFirst(root.path.count)) : path
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in relative.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Double(hash % 10_000) < share * 10_000
    }
}
