import Foundation

/// The committed demo model (`scene-s` trained on the built-in demo dataset), shipped inside the
/// build as a resource so `boundary serve` finds it from any working directory.
public enum DefaultModel {
    /// The name it is served under.
    public static let name = "scene-s"

    /// Its model directory: the resource bundle beside the executable (where SwiftPM puts it,
    /// and where an installed binary keeps it), else the source tree it was built from. Nil when
    /// neither exists, e.g. a binary copied away on its own.
    public static var directory: URL? {
        candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("model.safetensors").path) }
    }

    static var candidates: [URL] {
        var urls: [URL] = []
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            urls.append(executable.deletingLastPathComponent()
                .appendingPathComponent("Boundary_DefaultModel.resources/scene-s-demo"))
        }
        urls.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("scene-s-demo"))
        return urls
    }
}
