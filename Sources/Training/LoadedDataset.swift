import DemoData
import Foundation
import Imaging
import NeuralNet

/// A dataset decoded into memory and split, ready for training and evaluation.
public struct LoadedDataset: Sendable {
    /// Every output's label: a multi-head dataset's are qualified "head:label".
    public var classNames: [String]
    /// A manifest's heads; nil for a single-label dataset.
    public var heads: [HeadSpec]?
    public var train: DecodedImages
    public var validation: DecodedImages
    public var test: DecodedImages
    /// Where it came from, for training.json (and retrains' base data).
    public var dataSource: TrainingRecord.DataSource
    /// The same, in words for logs.
    public var source: String { dataSource.description }

    public var skipped: [SkippedFile] { train.skipped + validation.skipped + test.skipped }

    /// Decodes an ImageFolder tree at the model's input size.
    public static func imageFolder(_ folder: ImageFolder, input: InputSpec, threads: Int) -> LoadedDataset {
        LoadedDataset(classNames: folder.classNames,
                      train: .load(folder.train, input: input, threads: threads),
                      validation: .load(folder.validation, input: input, threads: threads),
                      test: .load(folder.test, input: input, threads: threads),
                      dataSource: .imageFolder(path: folder.root.path))
    }
}

extension LoadedDataset {
    /// Decodes a multi-head manifest's images at the model's input size.
    public static func manifest(_ manifest: ImageManifest, input: InputSpec, threads: Int) -> LoadedDataset {
        var data = LoadedDataset(classNames: HeadSpec.qualifiedLabels(manifest.heads),
                                 train: .load(manifest.train, input: input, threads: threads),
                                 validation: .load(manifest.validation, input: input, threads: threads),
                                 test: .load(manifest.test, input: input, threads: threads),
                                 dataSource: .manifest(path: manifest.url.path))
        data.heads = manifest.heads
        return data
    }

    /// The built-in procedural demo set rendered straight into memory at the model's input size:
    /// `perClass` training images per class, a fifth of that each for validation and test.
    public static func demo(perClass: Int, classes: Int, overlap: Double, input: InputSpec, seed: UInt64) -> LoadedDataset {
        let dataset = DemoDataset(classCount: classes, imageSize: max(input.width, input.height), overlap: overlap, seed: seed)
        func render(_ split: DemoDataset.Split, count: Int) -> DecodedImages {
            var images = DecodedImages()
            for sample in dataset.samples(split, count: count) {
                let pixels = dataset.render(sample, split: split)
                let image = RGBImage(width: dataset.imageSize, height: dataset.imageSize, pixels: pixels)!
                let fitted = image.width == input.width && image.height == input.height ? image
                    : ImageResizer.resize(image, region: PreprocessSpec(input).region(for: image.size),
                                          to: ImageSize(width: input.width, height: input.height))!
                images.images.append(fitted)
                images.labels.append(sample.label)
                images.paths.append("demo:\(split.rawValue)/\(sample.index)")
            }
            return images
        }
        let evaluation = max(perClass / 5, 1) * classes
        return LoadedDataset(classNames: dataset.classNames, train: render(.train, count: perClass * classes),
                             validation: render(.val, count: evaluation), test: render(.test, count: evaluation),
                             dataSource: .demo(classes: classes, perClass: perClass, overlap: overlap, seed: seed))
    }
}
