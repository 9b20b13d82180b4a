import Foundation
import NeuralNet

/// A dataset decoded into memory and split, ready for training and evaluation.
public struct LoadedDataset: Sendable {
    public var classNames: [String]
    public var train: DecodedImages
    public var validation: DecodedImages
    public var test: DecodedImages
    /// Where it came from, for logs and training.json.
    public var source: String

    public var skipped: [SkippedFile] { train.skipped + validation.skipped + test.skipped }

    /// Decodes an ImageFolder tree at the model's input size.
    public static func imageFolder(_ folder: ImageFolder, input: InputSpec, threads: Int) -> LoadedDataset {
        LoadedDataset(classNames: folder.classNames,
                      train: .load(folder.train, input: input, threads: threads),
                      validation: .load(folder.validation, input: input, threads: threads),
                      test: .load(folder.test, input: input, threads: threads),
                      source: folder.root.path)
    }
}
