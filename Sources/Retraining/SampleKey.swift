import DemoData
import Foundation

/// What a training or evaluation sample is, and so what its embedding is cached under.
public enum SampleKey: Hashable, Sendable {
    /// A feedback image, by its id (hex SHA-256 of the bytes).
    case image(String)
    /// An image of the built-in demo dataset.
    case demo(DemoDataset.Split, index: Int)
    /// An image of the ImageFolder the model was trained on.
    case folder(path: String)

    /// The key the feedback store caches embeddings under: image ids as they are, base data as
    /// `demo:SPLIT:INDEX` or `folder:PATH` (image ids never contain a colon).
    public var storageKey: String {
        switch self {
        case .image(let id): id
        case .demo(let split, let index): "demo:\(split.rawValue):\(index)"
        case .folder(let path): "folder:" + path
        }
    }

    public var imageID: String? {
        if case .image(let id) = self { return id }
        return nil
    }
}
