import Dispatch
import Foundation
import Imaging
import NeuralNet

/// A file that could not be used, and why (reported to the user, never fatal).
public struct SkippedFile: Error, Sendable, Hashable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Images decoded once and kept in memory at the model's input size (the exact crop and resize
/// serving applies), so epochs after the first never decode again.
public struct DecodedImages: Sendable {
    public var images: [RGBImage]
    public var labels: [Int]
    /// Multi-head datasets: per image, its label index per head (nil: unknown). Empty otherwise.
    public var headLabels: [[Int?]] = []
    public var paths: [String]
    public var skipped: [SkippedFile]

    public init(images: [RGBImage] = [], labels: [Int] = [], paths: [String] = [], skipped: [SkippedFile] = []) {
        self.images = images
        self.labels = labels
        self.paths = paths
        self.skipped = skipped
    }

    public var count: Int { images.count }

    /// Head `head`'s label of every image (nil where unknown): `labels` itself for a
    /// single-head dataset.
    public func labels(forHead head: Int) -> [Int?] {
        headLabels.isEmpty ? labels.map { $0 } : headLabels.map { $0[head] }
    }

    /// The images at `indices`, with their labels.
    public func subset(_ indices: [Int]) -> DecodedImages {
        var picked = DecodedImages(images: indices.map { images[$0] }, labels: indices.map { labels[$0] },
                                   paths: indices.map { paths[$0] })
        if !headLabels.isEmpty { picked.headLabels = indices.map { headLabels[$0] } }
        return picked
    }

    /// Decodes `files` on `threads` workers. Unreadable or corrupt files are skipped and listed.
    public static func load(_ files: [LabeledFile], input: InputSpec, threads: Int,
                            limits: ImagingLimits = .default) -> DecodedImages {
        let spec = PreprocessSpec(input)
        let size = ImageSize(width: spec.width, height: spec.height)
        let results = UnsafeMutableBufferPointer<Result<RGBImage, SkippedFile>?>.allocate(capacity: files.count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        let shared = UncheckedBox(results)
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, files.count))) { worker in
            var index = worker
            while index < files.count {
                let file = files[index]
                shared.value[index] = decode(file.path, spec: spec, size: size, limits: limits)
                index += max(1, min(threads, files.count))
            }
        }
        var decoded = DecodedImages()
        for (index, result) in results.enumerated() {
            switch result {
            case .success(let image)?:
                decoded.images.append(image)
                decoded.labels.append(files[index].label)
                if !files[index].headLabels.isEmpty { decoded.headLabels.append(files[index].headLabels) }
                decoded.paths.append(files[index].path)
            case .failure(let skipped)?:
                decoded.skipped.append(skipped)
            case nil:
                break
            }
        }
        return decoded
    }

    static func decode(_ path: String, spec: PreprocessSpec, size: ImageSize, limits: ImagingLimits) -> Result<RGBImage, SkippedFile> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(SkippedFile(path: path, reason: "cannot be read"))
        }
        do {
            let image = try ImageDecoder.decode([UInt8](data), minimumSize: nil, limits: limits)
            guard let resized = ImageResizer.resize(image, region: spec.region(for: image.size), to: size) else {
                return .failure(SkippedFile(path: path, reason: "cannot be resized to \(size)"))
            }
            return .success(resized)
        } catch {
            return .failure(SkippedFile(path: path, reason: "\(error)"))
        }
    }
}

extension PreprocessSpec {
    /// The imaging module's view of a model's input spec.
    public init(_ input: InputSpec) {
        self.init(width: input.width, height: input.height,
                  resizeMode: input.resize == .squash ? .squash : .centerCrop,
                  mean: input.mean, std: input.std)
    }
}

/// Hands a value to `concurrentPerform` workers that write disjoint slots.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
