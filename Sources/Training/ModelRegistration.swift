import DurableIO
import Foundation

/// Copies a model directory into a service data directory as the next version of a named model:
/// `DATA_DIR/models/NAME/VERSION/`. The copy is staged under a temporary name and renamed into
/// place, so a watcher never sees a half-written version.
public enum ModelRegistration {
    @discardableResult
    public static func register(modelDirectory: URL, name: String, dataDirectory: URL) throws -> Int {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !name.hasPrefix(".") else {
            throw RegistrationError.invalidName(name)
        }
        let fm = FileManager.default
        let modelRoot = dataDirectory.appendingPathComponent("models").appendingPathComponent(name)
        try fm.createDirectory(at: modelRoot, withIntermediateDirectories: true)
        let existing = try fm.contentsOfDirectory(atPath: modelRoot.path).compactMap { Int($0) }
        let version = (existing.max() ?? 0) + 1
        let staging = modelRoot.appendingPathComponent(".staging-\(version)-\(getpid())")
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        for file in try fm.contentsOfDirectory(atPath: modelDirectory.path) where !file.hasPrefix(".") {
            guard let data = fm.contents(atPath: modelDirectory.appendingPathComponent(file).path) else { continue }
            try DurableFile.write(data, to: staging.appendingPathComponent(file))
        }
        let target = modelRoot.appendingPathComponent(String(version))
        guard rename(staging.path, target.path) == 0 else {
            let code = errno
            try? fm.removeItem(at: staging)
            throw DurableIOError(path: target.path, syscall: "rename", code: code)
        }
        return version
    }

    public enum RegistrationError: Error, CustomStringConvertible {
        case invalidName(String)
        public var description: String {
            switch self {
            case .invalidName(let name): "model name '\(name)' must be letters, digits, '-', '_' or '.', not starting with '.'"
            }
        }
    }
}
