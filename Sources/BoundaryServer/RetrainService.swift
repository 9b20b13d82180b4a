import BoundaryAPI
import GRPCCore
import Retraining
import Serving

/// Proto ⇄ domain mapping for Retrain and WatchRetrain (the methods of `boundary.v1.Feedback`
/// that train), kept apart from the intake methods.
enum RetrainMapping {
    static func options(_ request: Boundary_V1_RetrainRequest) throws -> RetrainOptions {
        var fields = RequestValidation.RetrainFields()
        switch request.mode {
        case .head: fields.mode = .head
        case .full: fields.mode = .full
        case .UNRECOGNIZED(let value):
            throw ServingError.invalidArgument("unknown retrain mode \(value); use HEAD (0) or FULL (1)")
        }
        fields.model = request.model
        fields.unfreezeBlocks = request.unfreezeBlocks
        fields.epochs = request.epochs
        fields.learningRate = request.learningRate
        fields.boundaryUpsampling = request.boundaryUpsampling
        fields.replayRatio = request.replayRatio
        fields.minNewSamples = request.minNewSamples
        fields.dryRun = request.dryRun
        fields.tolerance = request.tolerance
        fields.confidence = request.confidence
        fields.minEvaluationPerClass = request.minEvaluationPerClass
        return try RequestValidation.retrainOptions(fields)
    }

    static func progress(_ update: RetrainUpdate) -> Boundary_V1_RetrainProgress {
        var proto = Boundary_V1_RetrainProgress()
        proto.jobID = update.jobID
        proto.phase = update.phase.rawValue
        proto.epoch = UInt32(update.epoch)
        proto.epochs = UInt32(update.epochs)
        proto.loss = update.loss
        proto.accuracy = update.accuracy
        proto.etaSeconds = update.etaSeconds
        if let error = update.error { proto.error = error }
        if let outcome = update.outcome {
            var result = Boundary_V1_RetrainResult()
            result.candidateVersion = UInt64(outcome.candidateVersion ?? 0)
            result.promoted = outcome.promoted
            result.reason = outcome.reason
            result.parentVersion = UInt64(outcome.parentVersion)
            result.feedbackSamples = UInt32(outcome.feedbackSamples)
            result.replaySamples = UInt32(outcome.replaySamples)
            if let before = outcome.before { result.before = metrics(before, labels: outcome.labels) }
            if let after = outcome.after { result.after = metrics(after, labels: outcome.labels) }
            if let verdict = outcome.verdict {
                result.decision = verdict.decision.rawValue
                result.confidence = verdict.policy.confidence
                result.boundaryPValue = verdict.boundary.pCandidateBetter
                result.regressionPValue = verdict.overall.pCandidateWorse
            }
            result.users = outcome.users.map { user in
                var proto = Boundary_V1_UserFeedback()
                proto.userID = user.userID
                proto.samples = UInt32(user.samples)
                proto.contradicted = UInt32(user.contradicted)
                proto.expectedFlags = user.expectedFlags
                proto.screenPValue = user.pValue
                proto.flagged = UInt32(user.flagged)
                proto.quarantined = user.quarantined
                proto.trained = UInt32(user.trained)
                proto.deferred = UInt32(user.deferred)
                return proto
            }
            result.quarantinedSamples = UInt32(outcome.quarantinedSamples)
            result.unusableSamples = UInt32(outcome.unusableSamples)
            result.evaluationFeedback = UInt32(outcome.evaluationFeedback)
            result.evaluationBase = UInt32(outcome.evaluationBase)
            proto.result = result
        }
        return proto
    }

    static func metrics(_ evaluation: RetrainEvaluation, labels: [String]) -> Boundary_V1_EvalMetrics {
        var proto = Boundary_V1_EvalMetrics()
        proto.accuracy = evaluation.accuracy
        proto.boundaryAccuracy = evaluation.boundaryAccuracy
        proto.samples = UInt32(evaluation.samples)
        proto.boundarySamples = UInt32(evaluation.boundarySamples)
        for (index, accuracy) in evaluation.perClass where labels.indices.contains(index) {
            proto.perClass[labels[index]] = accuracy
        }
        return proto
    }

    /// Writes every update of `job` until its final one (or until the client goes away).
    static func stream(_ job: RetrainJob, to writer: RPCWriter<Boundary_V1_RetrainProgress>) async throws {
        for await update in job.updates() {
            try await writer.write(progress(update))
        }
    }
}
