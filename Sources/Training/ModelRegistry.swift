import DurableIO
import Foundation

/// The on-disk model registry that `boundary serve` loads and `boundary train --register` writes:
///
///     DATA_DIR/models/NAME/1/            a complete model directory (see `ModelDirectory`)
///     DATA_DIR/models/NAME/1/version.json  lineage: parent version, creation time, how it was made
///     DATA_DIR/models/NAME/2/ …
///     DATA_DIR/models/NAME/serving.json  which version serves (absent: the highest)
///
/// Versions are immutable once renamed into place: a new version is staged under a hidden
/// temporary name and renamed, so a reader never sees half of one. The serving pointer is
/// replaced atomically (temporary file, fsync, rename), which is what a hot swap, a promotion and
/// a rollback all are. Old versions are kept for rollback.
public struct ModelRegistry: Sendable {
    public let root: URL

    public init(dataDirectory: URL) {
        root = dataDirectory.appendingPathComponent("models")
    }

    /// Registers a copy of `modelDirectory` as the next version of `name` and returns its number.
    /// With `promote`, the new version also becomes the serving one.
    @discardableResult
    public func register(modelDirectory: URL, name: String, record: VersionRecord = VersionRecord(),
                         promote: Bool = true) throws -> Int {
        try Self.validate(name: name)
        let fm = FileManager.default
        let modelRoot = directory(of: name)
        try fm.createDirectory(at: modelRoot, withIntermediateDirectories: true)
        let version = (try versions(of: name).max() ?? 0) + 1
        let staging = modelRoot.appendingPathComponent("\(Self.stagingPrefix)\(version)-\(getpid())")
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        do {
            for file in try fm.contentsOfDirectory(atPath: modelDirectory.path)
            where !file.hasPrefix(".") && file != VersionRecord.fileName {
                guard let data = fm.contents(atPath: modelDirectory.appendingPathComponent(file).path) else { continue }
                try DurableFile.write(data, to: staging.appendingPathComponent(file))
            }
            try DurableFile.write(try record.jsonData(), to: staging.appendingPathComponent(VersionRecord.fileName))
            let target = directory(of: name, version: version)
            guard rename(staging.path, target.path) == 0 else {
                throw DurableIOError(path: target.path, syscall: "rename", code: errno)
            }
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
        if promote { try setServingVersion(version, of: name) }
        return version
    }

    /// Every model with at least one complete version, sorted by name.
    public func modelNames() throws -> [String] {
        guard FileManager.default.fileExists(atPath: root.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: root.path)
            .filter { !$0.hasPrefix(".") }
            .filter { (try? versions(of: $0).isEmpty == false) ?? false }
            .sorted()
    }

    /// The complete versions of `name`, ascending.
    public func versions(of name: String) throws -> [Int] {
        let modelRoot = directory(of: name)
        guard FileManager.default.fileExists(atPath: modelRoot.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: modelRoot.path)
            .compactMap { Int($0) }.filter { $0 > 0 }.sorted()
    }

    /// The version that serves: the pointer's, or the highest when no pointer was written.
    public func servingVersion(of name: String) throws -> Int? {
        let pointer = directory(of: name).appendingPathComponent(Self.pointerName)
        if let data = FileManager.default.contents(atPath: pointer.path) {
            let decoded = try JSONDecoder().decode(ServingPointer.self, from: data)
            return decoded.version
        }
        return try versions(of: name).max()
    }

    /// Atomically points `name` at `version`, which must exist.
    public func setServingVersion(_ version: Int, of name: String) throws {
        let known = try versions(of: name)
        guard known.contains(version) else {
            throw RegistryError.unknownVersion(model: name, version: version, known: known)
        }
        let pointer = ServingPointer(version: version, updatedAt: VersionRecord.timestamp(Date()))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try DurableFile.write(try encoder.encode(pointer), to: directory(of: name).appendingPathComponent(Self.pointerName))
    }

    /// The lineage record of a version (an empty record for versions registered without one).
    public func record(of name: String, version: Int) -> VersionRecord {
        let url = directory(of: name, version: version).appendingPathComponent(VersionRecord.fileName)
        guard let data = FileManager.default.contents(atPath: url.path),
              let record = try? JSONDecoder().decode(VersionRecord.self, from: data) else { return VersionRecord() }
        return record
    }

    public func directory(of name: String) -> URL { root.appendingPathComponent(name) }

    public func directory(of name: String, version: Int) -> URL {
        directory(of: name).appendingPathComponent(String(version))
    }

    /// Removes staging directories and temporary files left by a process killed mid-registration.
    /// Returns what was removed. Safe at start-up, before anything registers.
    @discardableResult
    public func removeStaleStaging() throws -> [URL] {
        var removed: [URL] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] where !name.hasPrefix(".") {
            let modelRoot = directory(of: name)
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: modelRoot.path)) ?? []
            where entry.hasPrefix(Self.stagingPrefix) {
                let url = modelRoot.appendingPathComponent(entry)
                try FileManager.default.removeItem(at: url)
                removed.append(url)
            }
            removed += try DurableFile.removeStaleTemporaryFiles(in: modelRoot)
        }
        return removed
    }

    static let stagingPrefix = ".staging-"
    static let pointerName = "serving.json"

    static func validate(name: String) throws {
        guard !name.isEmpty, name.count <= 128, !name.hasPrefix("."),
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw RegistryError.invalidName(name)
        }
    }

    struct ServingPointer: Codable {
        var version: Int
        var updatedAt: String
    }
}

/// How a version came to be. Stored as version.json beside the weights and shown by GetModel.
public struct VersionRecord: Codable, Sendable, Equatable {
    public static let fileName = "version.json"

    /// The version this one was fine-tuned from, if any.
    public var parent: Int?
    /// RFC 3339 creation time.
    public var createdAt: String
    /// Free-form facts: source data, mode, seed, epochs, feedback consumed, training-set hash.
    public var lineage: [String: String]

    public init(parent: Int? = nil, createdAt: Date = Date(), lineage: [String: String] = [:]) {
        self.parent = parent
        self.createdAt = Self.timestamp(createdAt)
        self.lineage = lineage
    }

    func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

public enum RegistryError: Error, Equatable, CustomStringConvertible {
    case invalidName(String)
    case unknownVersion(model: String, version: Int, known: [Int])

    public var description: String {
        switch self {
        case .invalidName(let name):
            "model name \(EchoedValue.quoted(name)) must be 1-128 ASCII letters, digits, '-', '_' or '.', not starting with '.'"
        case .unknownVersion(let model, let version, let known):
            "model '\(model)' has no version \(version); kept versions: \(known.map(String.init).joined(separator: ", "))"
        }
    }
}
