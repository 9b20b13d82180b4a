import FeedbackStore
import Foundation
import Logging
import NeuralNet
import Serving
import Training

/// One retrain's work, on the retrain thread: claim the pending feedback, screen it, train a
/// candidate, judge both versions on the evaluation set, then promote, quarantine or give back.
/// Every claimed sample ends in a state: consumed, quarantined, unusable, or pending again.
struct RetrainRun {
    let job: RetrainJob
    let options: RetrainOptions
    let parent: ModelSnapshot
    let store: any FeedbackStore
    let registry: ModelRegistry
    let cache: EmbeddingCache
    let threads: Int
    let logger: Logger

    func execute() throws -> RetrainOutcome {
        var outcome = RetrainOutcome(parent: parent.version, labels: parent.labels)
        job.publish(RetrainUpdate(jobID: job.id, phase: .preparing))
        let candidates = try store.pendingSamples(model: parent.name)
        guard candidates.count >= options.minNewSamples else {
            outcome.reason = "only \(candidates.count) trainable feedback samples; at least \(options.minNewSamples) required"
            return outcome
        }
        // Claim only what is still pending (an admin may have quarantined or discarded some since
        // the read); one retrain per model runs at a time, so every `training` sample is ours.
        try store.setState(candidates.map(\.id), to: .training, version: nil, reason: nil, ifIn: .pending)
        let pending = try store.samples(model: parent.name, in: [.training])
        // Whatever is still claimed when this returns or throws goes back to pending.
        defer {
            do {
                try store.setState(pending.map(\.id), to: .pending, version: nil, reason: nil, ifIn: .training)
            } catch {
                logger.error("could not return claimed feedback to pending; it will be at the next start",
                             metadata: ["model": "\(parent.name)", "error": "\(error)"])
            }
        }
        let directory = registry.directory(of: parent.name, version: parent.version)
        let network = try ModelDirectory.load(directory, threads: threads)
        let builder = TrainingSetBuilder(spec: network.spec, modelDirectory: directory, store: store)

        let (usable, unusable) = try builder.feedback(pending)
        try markUnusable(unusable)
        outcome.unusableSamples = unusable.count

        // Screen: the serving model's view of the feedback and its neighbours among base data.
        let evaluationBase = try builder.evaluationItems(perClass: options.gate.minEvaluationPerClass)
        let baseEmbeddings = try cache.embeddings(evaluationBase, parent: parent, threads: threads)
        let feedbackEmbeddings = try cache.embeddings(usable, parent: parent, threads: threads)
        let screening = FeedbackScreen(policy: options.screen).screen(
            targets: usable.map(\.input.target), users: usable.map { $0.stored!.userID }, released: usable.map { $0.stored!.released },
            feedback: .init(probabilities: FineTuner.headProbabilities(network, embeddings: feedbackEmbeddings, count: usable.count),
                            embeddings: feedbackEmbeddings),
            reference: .init(probabilities: FineTuner.headProbabilities(network, embeddings: baseEmbeddings, count: evaluationBase.count),
                             embeddings: baseEmbeddings),
            referenceLabels: evaluationBase.map { if case .label(let k) = $0.input.target { k } else { -1 } },
            classes: network.classCount, embeddingSize: network.embeddingSize, heads: network.spec.outputHeads)
        var users = Dictionary(uniqueKeysWithValues: screening.users.map { ($0.userID, $0) })
        for report in screening.users where report.quarantined {
            outcome.quarantinedSamples += try store.quarantine(model: parent.name, .user(report.userID), verdict:
                "screened before retrain \(job.id): \(report.flagged) of the user's \(report.contradicted) samples the serving "
                + "model contradicts also contradict its confidence and their nearest labelled neighbours; an honest reviewer "
                + String(format: "would have about %.1f such flags (p = %.2g)", report.expectedFlags, report.pValue))
            logger.warning("feedback of a user quarantined by the screen", metadata: [
                "model": "\(parent.name)", "user": "\(report.userID)", "flagged": "\(report.flagged)",
                "expected": "\(report.expectedFlags)", "p": "\(report.pValue)"])
        }
        var train = usable.filter { users[$0.stored!.userID]?.quarantined != true }
        let deferred = deferOverShare(&train, users: &users)
        try store.setState(deferred.map(\.id), to: .pending, version: nil, reason: nil, ifIn: .training)
        for item in train { users[item.stored!.userID]?.trained += 1 }
        outcome.users = users.values.sorted { $0.userID < $1.userID }
        guard !train.isEmpty else {
            outcome.reason = "no trainable feedback left: \(pending.count) pending, \(unusable.count) unusable, "
                + "\(usable.count - train.count - deferred.count) quarantined by the screen"
            return outcome
        }

        // The evaluation set: every held-out feedback sample (read after the screen's quarantines)
        // plus base validation data; accuracy is judged on the trusted part (see PromotionGate).
        let heldOut = try builder.feedback(try store.samples(model: parent.name, in: [.heldOut]))
        try markUnusable(heldOut.unusable)
        let evaluation = heldOut.usable + evaluationBase
        // Without base data nothing else can judge: held-out feedback of this batch counts too
        // (the screen and the boundary rule remain), and the verdict says so.
        let trusted = heldOut.usable.map { $0.stored!.vetted || evaluationBase.isEmpty } + evaluationBase.map { _ in true }
        outcome.evaluationFeedback = heldOut.usable.count
        outcome.evaluationBase = evaluationBase.count
        let replayCount = options.replayRatio > 0
            ? min(TrainingSetBuilder.maxReplay, Int((Float(train.count) * options.replayRatio).rounded())) : 0
        // A head-only retrain of a multi-head model replays only the heads feedback named: the
        // others get no gradient (only AdamW's weight decay touches them, by about 1e-6 a step).
        let namedHeads = Set(train.map { item in network.spec.outputHeads.firstIndex { $0.range.contains(item.input.target.index) }! })
        let replay = try builder.replayItems(count: replayCount, heads: options.mode == .head ? namedHeads : nil)
        outcome.feedbackSamples = train.count
        outcome.replaySamples = replay.count

        let seed = UInt64(pending.count)
        let config = FineTuneConfig(mode: options.mode, epochs: options.epochs, learningRate: options.learningRate,
                                    boundaryWeight: options.upsampling, threads: threads, seed: seed)
        let started = Date()
        let report = { (epoch: Int, loss: Double, accuracy: Double) in
            let elapsed = Date().timeIntervalSince(started)
            job.publish(RetrainUpdate(jobID: job.id, phase: .training, epoch: epoch, epochs: config.epochs, loss: loss,
                                      accuracy: accuracy, etaSeconds: elapsed / Double(epoch) * Double(config.epochs - epoch)))
        }
        let inputs = evaluation.map(\.input)
        let before: [Int], after: [Int]
        if config.mode == .head {
            // The backbone stays the serving version's: one set of embeddings scores both heads.
            let evaluationEmbeddings = try cache.embeddings(heldOut.usable, parent: parent, threads: threads) + baseEmbeddings
            let trainItems = train + replay
            let trainEmbeddings = try cache.embeddings(trainItems, parent: parent, threads: threads)
            before = FineTuner.predictHead(network, embeddings: evaluationEmbeddings, samples: inputs)
            FineTuner.runHead(network, embeddings: trainEmbeddings, samples: trainItems.map(\.input), config: config, progress: report)
            job.publish(RetrainUpdate(jobID: job.id, phase: .evaluating))
            after = FineTuner.predictHead(network, embeddings: evaluationEmbeddings, samples: inputs)
        } else {
            before = FineTuner.predict(parent.model, inputs, threads: threads)
            FineTuner.run(network, on: (train + replay).map(\.input), config: config, progress: report)
            job.publish(RetrainUpdate(jobID: job.id, phase: .evaluating))
            after = FineTuner.predict(network.inferenceModel(), inputs, threads: threads)
        }
        outcome.before = Self.evaluation(before, inputs, trusted: trusted)
        outcome.after = Self.evaluation(after, inputs, trusted: trusted)
        var perClass = Dictionary(uniqueKeysWithValues: parent.labels.map { ($0, 0) })
        for (input, trusted) in zip(inputs, trusted) where trusted {
            switch input.target {
            case .label(let k), .notLabel(let k): perClass[parent.labels[k], default: 0] += 1
            }
        }
        let verdict = PromotionGate.decide(parent: FineTuner.correct(before, inputs), candidate: FineTuner.correct(after, inputs),
                                           isBoundary: inputs.map(\.isBoundary), isTrusted: trusted, perClass: perClass,
                                           policy: options.gate,
                                           heads: inputs.map { parent.spec.outputHeads.head(containing: $0.target.index).name })
        outcome.verdict = verdict
        outcome.reason = verdict.reason + (evaluationBase.isEmpty ? " [no base data: this batch's held-out feedback judged too]" : "")
        let trainedIDs = train.map { $0.stored!.id }
        switch verdict.decision {
        case .insufficientEvidence:
            if options.dryRun { outcome.reason = "dry run: the gate would wait for more evidence (\(verdict.reason))" }
            return outcome  // Not the feedback's fault: it stays queued.
        case .refuse where options.dryRun, .promote where options.dryRun:
            outcome.reason = "dry run: the gate would \(verdict.promotes ? "promote" : "refuse") (\(verdict.reason))"
            return outcome
        case .refuse:
            let events = Array(Set(train.map { $0.stored!.eventID })).sorted()
            outcome.quarantinedSamples += try store.quarantine(model: parent.name, .events(events),
                                                               verdict: "retrain \(job.id) refused: \(verdict.reason)")
            return outcome
        case .promote:
            job.publish(RetrainUpdate(jobID: job.id, phase: .promoting))
            let version = try Promotion(registry: registry, parent: parent, options: options)
                .register(network, training: train + replay, outcome: outcome)
            try store.setState(trainedIDs, to: .consumed, version: version, reason: nil, ifIn: .training)
            outcome.candidateVersion = version
            outcome.promoted = true
            return outcome
        }
    }

    /// The largest per-user cap c with c ≤ share × (what all users train under that cap), at least
    /// 1: the share holds after deferring, not just before.
    static func shareCap(_ counts: [Int], share: Double) -> Int {
        var low = 1, high = max(counts.max() ?? 1, 1)
        while low < high {
            let mid = (low + high + 1) / 2
            let total = counts.reduce(0) { $0 + min($1, mid) }
            if Double(mid) <= share * Double(total) { low = mid } else { high = mid - 1 }
        }
        return low
    }

    /// Accuracy and per-class accuracy on the trusted samples, boundary accuracy on every held-out
    /// boundary sample: the numbers the gate decides on.
    static func evaluation(_ predicted: [Int], _ inputs: [LabelledInput], trusted: [Bool]) -> FineTuneEvaluation {
        let pick = { (mask: [Bool]) in (zip(predicted, mask).filter(\.1).map(\.0), zip(inputs, mask).filter(\.1).map(\.0)) }
        let (trustedPredicted, trustedInputs) = pick(trusted)
        var result = FineTuner.score(trustedPredicted, trustedInputs)
        let all = FineTuner.score(predicted, inputs)
        result.boundaryAccuracy = all.boundaryAccuracy
        result.boundarySamples = all.boundarySamples
        return result
    }

    private func markUnusable(_ samples: [(id: Int64, reason: String)]) throws {
        for (reason, group) in Dictionary(grouping: samples, by: \.reason) {
            try store.setState(group.map(\.id), to: .unusable, version: nil, reason: reason)
            logger.warning("feedback samples cannot be used", metadata: [
                "model": "\(parent.name)", "samples": "\(group.count)", "reason": "\(reason)"])
        }
    }

    /// When several users sent feedback, each may supply at most `maxUserShare` of this retrain's;
    /// the rest (their newest) waits for the next one. Returns the deferred samples.
    private func deferOverShare(_ train: inout [TrainingSetBuilder.Item], users: inout [String: UserScreening]) -> [StoredSample] {
        let counts = Dictionary(grouping: train, by: { $0.stored!.userID }).mapValues(\.count)
        guard counts.count > 1, options.maxUserShare < 1 else { return [] }
        let cap = Self.shareCap(Array(counts.values), share: options.maxUserShare)
        var taken: [String: Int] = [:]
        var deferred: [StoredSample] = []
        train = train.filter { item in
            let user = item.stored!.userID
            taken[user, default: 0] += 1
            guard taken[user]! > cap else { return true }
            deferred.append(item.stored!)
            users[user]?.deferred += 1
            return false
        }
        return deferred
    }
}
