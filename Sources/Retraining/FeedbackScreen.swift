import FeedbackStore
import Foundation
import NeuralNet

/// When the screen quarantines a user.
public struct ScreenPolicy: Sendable, Equatable {
    /// Labelled neighbours consulted per sample.
    public var neighbours: Int
    /// Share of the neighbours that must side with the serving model against the label.
    public var neighbourAgreement: Double
    /// A user is quarantined when their flagged samples are this unlikely under honest labelling…
    public var significance: Double
    /// …and at least this many are flagged (a few slips never quarantine anyone).
    public var minFlagged: Int

    public init(neighbours: Int = 10, neighbourAgreement: Double = 0.7, significance: Double = 0.001, minFlagged: Int = 5) {
        self.neighbours = neighbours
        self.neighbourAgreement = neighbourAgreement
        self.significance = significance
        self.minFlagged = minFlagged
    }
}

/// What the screen found for one user's pending feedback, and what the retrain did with it.
public struct UserScreening: Sendable, Equatable {
    public var userID: String
    public var samples = 0
    /// Samples whose label the serving model contradicts (the only ones that can be flagged).
    public var contradicted = 0
    /// Samples that contradict a confident serving model and their labelled neighbours.
    public var flagged = 0
    /// Flags an honest reviewer of the same samples would collect, estimated on base data.
    public var expectedFlags = 0.0
    /// How likely this many flags are from an honest reviewer (one-sided binomial tail).
    public var pValue = 1.0
    public var quarantined = false
    /// Samples trained on, and held back by the per-user share of one retrain.
    public var trained = 0
    public var deferred = 0

    public init(userID: String) { self.userID = userID }
}

/// Screens feedback before training, the way confident learning (cleanlab) finds label errors:
/// a sample is flagged when the serving model, out of sample, is confident of a class its label
/// contradicts (per-class thresholds: the mean probability the model gives each class's own
/// labelled images) *and* most of its nearest labelled neighbours in embedding space side with the
/// model. A single flag proves nothing — honest corrections of confident mistakes look the same —
/// so flags are judged per user against how often *true* labels get flagged: the same test run on
/// the model's labelled base data, split by whether the model got them right. A user with far more
/// flags than an honest reviewer of the same samples would collect is quarantined whole.
public struct FeedbackScreen: Sendable {
    public let policy: ScreenPolicy

    public init(policy: ScreenPolicy) { self.policy = policy }

    /// The serving model's view of a set of samples.
    public struct View {
        /// [N, K] probabilities and [N, E] embeddings under the serving backbone.
        public var probabilities: [Float]
        public var embeddings: [Float]
        public init(probabilities: [Float], embeddings: [Float]) {
            self.probabilities = probabilities
            self.embeddings = embeddings
        }
    }

    /// - Parameters:
    ///   - targets, users, released: per feedback sample; `feedback` is the model's view of them.
    ///   - reference, referenceLabels: labelled base samples (the neighbours, and the honest rate).
    ///   - heads: a multi-head model's heads: a sample is judged within its label's head, against
    ///     neighbours labelled for that head. Nil: one head over all `classes`.
    /// - Returns: per user, and which samples were flagged.
    public func screen(targets: [Target], users: [String], released: [Bool], feedback: View,
                       reference: View, referenceLabels: [Int], classes: Int, embeddingSize: Int, heads: [OutputHead]? = nil)
        -> (users: [UserScreening], flagged: [Bool]) {
        let m = referenceLabels.count
        var byUser: [String: UserScreening] = [:]
        for user in users { byUser[user, default: UserScreening(userID: user)].samples += 1 }
        var flagged = [Bool](repeating: false, count: targets.count)
        guard m > policy.neighbours else {  // Too few labelled neighbours: nothing can be screened.
            return (byUser.values.sorted { $0.userID < $1.userID }, flagged)
        }
        let judge = Judge(policy: policy, reference: reference, labels: referenceLabels, classes: classes, size: embeddingSize,
                          heads: heads ?? [OutputHead(name: "", labels: Array(repeating: "", count: classes), offset: 0)])
        // How often a true label is flagged, when the model agrees with it (kept-like) and when it
        // does not (correction-like): Laplace-smoothed, so a small base set errs towards trusting users.
        var counts = (contradicted: 0, flagged: 0)
        for row in 0..<m {
            guard judge.top(of: reference.probabilities, row: row, near: referenceLabels[row]) != referenceLabels[row] else { continue }
            counts.contradicted += 1
            if judge.flags(.label(referenceLabels[row]), probabilities: reference.probabilities, embeddings: reference.embeddings,
                           row: row, excluding: row) { counts.flagged += 1 }
        }
        let honestRate = (Double(counts.flagged) + 1) / (Double(counts.contradicted) + 2)
        for i in targets.indices {
            guard judge.contradicts(targets[i], probabilities: feedback.probabilities, row: i) else { continue }
            byUser[users[i]]?.contradicted += 1
            byUser[users[i]]?.expectedFlags += honestRate
            if !released[i], judge.flags(targets[i], probabilities: feedback.probabilities, embeddings: feedback.embeddings,
                                         row: i, excluding: nil) {
                flagged[i] = true
                byUser[users[i]]?.flagged += 1
            }
        }
        for (user, var report) in byUser {
            report.pValue = Binomial.upperTail(report.flagged, of: report.contradicted, rate: honestRate)
            report.quarantined = report.flagged >= policy.minFlagged && report.pValue < policy.significance
            byUser[user] = report
        }
        return (byUser.values.sorted { $0.userID < $1.userID }, flagged)
    }

    /// The per-sample tests over one reference set.
    private struct Judge {
        let policy: ScreenPolicy
        let reference: View
        let labels: [Int]
        let classes: Int
        let size: Int
        let thresholds: [Float]
        let norms: [Float]
        let heads: [OutputHead]

        init(policy: ScreenPolicy, reference: View, labels: [Int], classes: Int, size: Int, heads: [OutputHead]) {
            self.policy = policy
            self.heads = heads
            self.reference = reference
            self.labels = labels
            self.classes = classes
            self.size = size
            var sums = [Double](repeating: 0, count: classes), counts = [Int](repeating: 0, count: classes)
            for (row, label) in labels.enumerated() where label >= 0 && label < classes {
                sums[label] += Double(reference.probabilities[row * classes + label])
                counts[label] += 1
            }
            thresholds = (0..<classes).map { counts[$0] > 0 ? Float(sums[$0] / Double(counts[$0])) : 1 }
            norms = (0..<labels.count).map { row in
                max(sqrt(reference.embeddings[row * size..<(row + 1) * size].reduce(0) { $0 + $1 * $1 }), 1e-12)
            }
        }

        /// The model's top class within the head of `label`.
        func top(of probabilities: [Float], row: Int, near label: Int) -> Int {
            let base = row * classes
            return heads.head(containing: label).range.max { probabilities[base + $0] < probabilities[base + $1] }!
        }

        /// The model's top class contradicts the label.
        func contradicts(_ target: Target, probabilities: [Float], row: Int) -> Bool {
            switch target {
            case .label(let label): top(of: probabilities, row: row, near: label) != label
            case .notLabel(let label): top(of: probabilities, row: row, near: label) == label
            }
        }

        /// Contradicted by a confident model and by most labelled neighbours.
        func flags(_ target: Target, probabilities: [Float], embeddings: [Float], row: Int, excluding: Int?) -> Bool {
            guard contradicts(target, probabilities: probabilities, row: row) else { return false }
            let predicted = top(of: probabilities, row: row, near: target.index)
            guard probabilities[row * classes + predicted] >= thresholds[predicted] else { return false }
            let neighbours = nearest(embeddings, row: row, excluding: excluding, within: heads.head(containing: target.index))
            // A head with too few labelled neighbours cannot side with anyone (a multi-head model's
            // base data may label some heads sparsely): nothing is flagged on its word alone.
            guard neighbours.count >= policy.neighbours else { return false }
            let siding = neighbours.filter { label in
                switch target {
                case .label(let named): label != named
                case .notLabel(let named): label == named
                }
            }.count
            return Double(siding) >= policy.neighbourAgreement * Double(neighbours.count)
        }

        /// Labels of the `neighbours` reference rows labelled for `head` most cosine-similar to `row`.
        private func nearest(_ embeddings: [Float], row: Int, excluding: Int?, within head: OutputHead) -> [Int] {
            let query = Array(embeddings[row * size..<(row + 1) * size])
            let queryNorm = max(sqrt(query.reduce(0) { $0 + $1 * $1 }), 1e-12)
            var scored: [(similarity: Float, label: Int)] = []
            scored.reserveCapacity(labels.count)
            reference.embeddings.withUnsafeBufferPointer { all in
                for (j, label) in labels.enumerated() where j != excluding && head.range.contains(label) {
                    var dot: Float = 0
                    for k in 0..<size { dot += query[k] * all[j * size + k] }
                    scored.append((dot / (queryNorm * norms[j]), label))
                }
            }
            scored.sort { $0.similarity > $1.similarity }
            return scored.prefix(policy.neighbours).map(\.label)
        }
    }
}
