import FeedbackStore
import Foundation
import Synchronization
import Training

/// How a retrain fine-tunes (head only, or the network), named here so the API layer need not
/// import `Training`.
public typealias RetrainMode = FineTuneConfig.Mode
/// Accuracy of one version on the evaluation set.
public typealias RetrainEvaluation = FineTuneEvaluation

/// What a caller asks of a retrain (the gRPC layer fills in the defaults the proto documents).
public struct RetrainOptions: Sendable {
    public var model: String
    public var mode: FineTuneConfig.Mode
    public var epochs: Int
    public var learningRate: Float?
    /// Weight of boundary samples (the upsampling factor ×U).
    public var upsampling: Float
    /// Replayed base samples per feedback training sample.
    public var replayRatio: Float
    /// Trainable pending samples needed to start.
    public var minNewSamples: Int
    public var dryRun: Bool
    /// What the candidate must prove (tolerance, confidence, evidence per class).
    public var gate: GatePolicy
    /// When a user's feedback is quarantined before training.
    public var screen: ScreenPolicy
    /// Largest share of one retrain's feedback one user may supply when several users sent some;
    /// the rest waits for the next retrain.
    public var maxUserShare: Double

    public init(model: String = "", mode: FineTuneConfig.Mode = .head, epochs: Int? = nil, learningRate: Float? = nil,
                upsampling: Float = 4, replayRatio: Float = 1, minNewSamples: Int = 1, dryRun: Bool = false,
                gate: GatePolicy = GatePolicy(), screen: ScreenPolicy = ScreenPolicy(), maxUserShare: Double = 0.5) {
        self.model = model
        self.mode = mode
        self.epochs = epochs ?? (mode == .head ? 10 : 3)
        self.learningRate = learningRate
        self.upsampling = upsampling
        self.replayRatio = replayRatio
        self.minNewSamples = minNewSamples
        self.dryRun = dryRun
        self.gate = gate
        self.screen = screen
        self.maxUserShare = maxUserShare
    }
}

public enum RetrainPhase: String, Sendable {
    case queued, preparing, training, evaluating, promoting, done, failed
}

/// How a retrain ended.
public struct RetrainOutcome: Sendable {
    /// The registered version, when the candidate was promoted.
    public var candidateVersion: Int?
    public var promoted: Bool
    /// Which rule decided, in words.
    public var reason: String
    public var before: FineTuneEvaluation?
    public var after: FineTuneEvaluation?
    public var parentVersion: Int
    public var feedbackSamples: Int
    public var replaySamples: Int
    public var labels: [String]
    /// The gate's decision with its paired statistics (nil when the retrain stopped before it).
    public var verdict: GateVerdict?
    /// Per user: samples, screened, trained, deferred, quarantined.
    public var users: [UserScreening] = []
    /// Samples quarantined: by the screen before training, or with the feedback of a refused candidate.
    public var quarantinedSamples = 0
    /// Samples that could not be used (image gone, undecodable, label not the model's).
    public var unusableSamples = 0
    /// Evaluation samples from held-out feedback and from base data.
    public var evaluationFeedback = 0
    public var evaluationBase = 0

    init(parent: Int, labels: [String]) {
        parentVersion = parent
        self.labels = labels
        promoted = false
        reason = ""
        feedbackSamples = 0
        replaySamples = 0
    }
}

/// One progress report; the last one of a job has `phase` done (with `outcome`) or failed.
public struct RetrainUpdate: Sendable {
    public var jobID: String
    public var phase: RetrainPhase
    public var epoch = 0
    public var epochs = 0
    public var loss = 0.0
    public var accuracy = 0.0
    public var etaSeconds = 0.0
    public var outcome: RetrainOutcome?
    public var error: String?

    public var isFinal: Bool { phase == .done || phase == .failed }
}

/// A retrain in progress (or finished): its updates so far and a stream for each watcher.
public final class RetrainJob: Sendable {
    public let id: String
    public let model: String
    private let state = Mutex(State())

    private struct State {
        var history: [RetrainUpdate] = []
        var watchers: [UUID: AsyncStream<RetrainUpdate>.Continuation] = [:]
    }

    init(id: String, model: String) {
        self.id = id
        self.model = model
    }

    public var isFinished: Bool { state.withLock { $0.history.last?.isFinal ?? false } }

    public var last: RetrainUpdate? { state.withLock { $0.history.last } }

    /// Every update so far, then the live ones, ending with the final update.
    public func updates() -> AsyncStream<RetrainUpdate> {
        let (stream, continuation) = AsyncStream.makeStream(of: RetrainUpdate.self)
        let key = UUID()
        let finished = state.withLock { state -> Bool in
            for update in state.history { continuation.yield(update) }
            if state.history.last?.isFinal ?? false { return true }
            state.watchers[key] = continuation
            return false
        }
        if finished { continuation.finish() }
        continuation.onTermination = { [weak self] _ in _ = self?.state.withLock { $0.watchers.removeValue(forKey: key) } }
        return stream
    }

    func publish(_ update: RetrainUpdate) {
        let watchers = state.withLock { state in
            state.history.append(update)
            if state.history.count > 200 { state.history.removeSubrange(1..<state.history.count - 100) }
            return Array(state.watchers.values)
        }
        for watcher in watchers {
            watcher.yield(update)
            if update.isFinal { watcher.finish() }
        }
    }
}
