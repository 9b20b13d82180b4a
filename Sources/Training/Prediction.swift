import Foundation
import Imaging
import NeuralNet
import Tensor

/// Probabilities (and optionally embeddings) of a model over decoded images or preprocessed
/// inputs: every evaluation, prediction and embedding pass outside serving runs through here.
public struct Predictions: Sendable {
    public let classCount: Int
    /// [N, classes]
    public var probabilities: [Float]
    /// [N, E] when requested
    public var embeddings: [Float]
    public let embeddingSize: Int

    public var count: Int { probabilities.count / max(classCount, 1) }

    public func row(_ i: Int) -> ArraySlice<Float> { probabilities[(i * classCount)..<((i + 1) * classCount)] }

    public func predictedLabel(_ i: Int) -> Int {
        let r = row(i)
        return r.indices.max { r[$0] < r[$1] }! - i * classCount
    }

    /// The arg-max of image i's probabilities within `head`, as an index into the head's labels.
    public func predictedLabel(_ i: Int, head: OutputHead) -> Int {
        let base = i * classCount + head.offset
        var best = 0
        for j in 1..<head.count where probabilities[base + j] > probabilities[base + best] { best = j }
        return best
    }

    public func embedding(_ i: Int) -> [Float] { Array(embeddings[(i * embeddingSize)..<((i + 1) * embeddingSize)]) }

    /// Runs `model` over `images` in batches on `threads` workers.
    public static func compute(_ model: InferenceModel, images: DecodedImages, threads: Int,
                               batchSize: Int = 32, withEmbeddings: Bool = false) -> Predictions {
        let loader = BatchLoader(images: images, spec: PreprocessSpec(model.spec.input), batchSize: batchSize)
        return sweep(model, count: images.count, threads: threads, withEmbeddings: withEmbeddings) { run in
            loader.forEachBatch(epoch: 0, shuffle: false) { batch in run(batch.input, batch.count) }
        }
    }

    /// Runs `model` over already preprocessed inputs, each [C, H, W] in the model's layout.
    public static func compute(_ model: InferenceModel, inputs: [[Float]], threads: Int,
                               batchSize: Int = 32, withEmbeddings: Bool = false) -> Predictions {
        sweep(model, count: inputs.count, threads: threads, withEmbeddings: withEmbeddings) { run in
            var batch: [Float] = []
            for start in stride(from: 0, to: inputs.count, by: batchSize) {
                let rows = inputs[start..<min(start + batchSize, inputs.count)]
                batch.removeAll(keepingCapacity: true)
                for input in rows { batch += input }
                batch.withUnsafeBufferPointer { run($0.baseAddress!, rows.count) }
            }
        }
    }

    /// The one forward loop every evaluation, prediction and embedding pass shares: `batches`
    /// hands each batch [n, C, H, W] in order to `run`, which writes its rows of the result.
    private static func sweep(_ model: InferenceModel, count: Int, threads: Int, withEmbeddings: Bool,
                              batches: ((UnsafePointer<Float>, Int) -> Void) -> Void) -> Predictions {
        let k = model.classCount, e = model.embeddingSize
        var result = Predictions(classCount: k, probabilities: Array(repeating: 0, count: count * k),
                                 embeddings: withEmbeddings ? Array(repeating: 0, count: count * e) : [],
                                 embeddingSize: e)
        guard count > 0 else { return result }
        let session = InferenceSession(model: model, threads: threads)
        var offset = 0
        batches { input, n in
            precondition(offset + n <= count, "more rows than announced")
            result.probabilities.withUnsafeMutableBufferPointer { p in
                result.embeddings.withUnsafeMutableBufferPointer { emb in
                    session.run(input, batch: n, probabilities: p.baseAddress! + offset * k,
                                embeddings: withEmbeddings ? emb.baseAddress! + offset * e : nil)
                }
            }
            offset += n
        }
        return result
    }

    /// One head's mean cross-entropy and accuracy over the images labelled for it.
    public struct HeadScore: Sendable, Equatable {
        public var loss: Double
        public var accuracy: Double
        public var labelled: Int
    }

    /// Per head, its score against `labels[h]` (nil entries are not counted).
    public func headScores(_ labels: [[Int?]], heads: [OutputHead]) -> [HeadScore] {
        zip(labels, heads).map { labels, head in
            var loss = 0.0, correct = 0, labelled = 0
            for (i, label) in labels.enumerated() {
                guard let label else { continue }
                labelled += 1
                loss -= log(Double(max(probabilities[i * classCount + head.offset + label], 1e-12)))
                if predictedLabel(i, head: head) == label { correct += 1 }
            }
            return HeadScore(loss: labelled == 0 ? 0 : loss / Double(labelled),
                             accuracy: labelled == 0 ? 0 : Double(correct) / Double(labelled), labelled: labelled)
        }
    }

    /// Mean cross-entropy and accuracy against `labels`.
    public func lossAndAccuracy(labels: [Int]) -> (loss: Double, accuracy: Double) {
        guard count > 0 else { return (0, 0) }
        var loss = 0.0, correct = 0
        for i in 0..<count {
            loss -= log(Double(max(probabilities[i * classCount + labels[i]], 1e-12)))
            if predictedLabel(i) == labels[i] { correct += 1 }
        }
        return (loss / Double(count), Double(correct) / Double(count))
    }
}

