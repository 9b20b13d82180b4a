import Foundation
import NeuralNet
import Serving
import Training

/// Registers a candidate the gate accepted as the model's next version, with its lineage.
struct Promotion {
    let registry: ModelRegistry
    let parent: ModelSnapshot
    let options: RetrainOptions

    func register(_ network: Network, training: [TrainingSetBuilder.Item], outcome: RetrainOutcome) throws -> Int {
        // Inside the model's directory with the staging prefix, so start-up removes it after a crash.
        let staging = registry.directory(of: parent.name).appendingPathComponent(".staging-retrain-\(getpid())-\(UUID().uuidString)")
        defer {
            do {
                if FileManager.default.fileExists(atPath: staging.path) { try FileManager.default.removeItem(at: staging) }
            } catch {
                // Start-up removes staging directories; nothing is lost.
            }
        }
        let parentDirectory = registry.directory(of: parent.name, version: parent.version)
        let before = outcome.before, after = outcome.after
        let metrics = ["accuracy": after?.accuracy ?? 0, "boundary_accuracy": after?.boundaryAccuracy ?? 0]
        let mode = switch options.mode {
        case .head: "head"
        case .full(let unfreeze): unfreeze.map { "full-unfreeze-\($0)" } ?? "full"
        }
        // The base data's source carries over (later retrains replay it); the rest describes this retrain.
        let parentRecord = try TrainingRecord.load(from: parentDirectory)
        let record = parentRecord.map { parent in
            TrainingRecord(dataSource: parent.dataSource, spec: parent.spec, epochs: options.epochs, mode: "retrain-" + mode,
                           parent: "v\(self.parent.version)", validationShare: parent.validationShare)
        }
        try ModelDirectory.write(network, to: staging, metrics: try JSONSerialization.data(withJSONObject: metrics),
                                 training: record)
        let feedbackIDs = training.compactMap { $0.stored?.id }.sorted()
        var lineage: [String: String] = [
            "source": "retrain of v\(parent.version) on feedback",
            "mode": mode, "epochs": String(options.epochs), "boundary_upsampling": String(options.upsampling),
            "feedback_samples": String(outcome.feedbackSamples), "replay_samples": String(outcome.replaySamples),
            "training_set_sha256": TrainingSetBuilder.hash(training),
            "feedback_sample_ids": feedbackIDs.count <= 50 ? feedbackIDs.map(String.init).joined(separator: ",")
                : "\(feedbackIDs.first!)…\(feedbackIDs.last!) (\(feedbackIDs.count))",
            "feedback_users": outcome.users.filter { $0.trained > 0 }.map { "\($0.userID.isEmpty ? "(anonymous)" : $0.userID)=\($0.trained)" }
                .joined(separator: ","),
            "evaluation_samples": String(outcome.evaluationFeedback + outcome.evaluationBase),
            "heldout_accuracy_before": String(before?.accuracy ?? 0), "heldout_accuracy_after": String(after?.accuracy ?? 0),
            "boundary_accuracy_before": String(before?.boundaryAccuracy ?? 0),
            "boundary_accuracy_after": String(after?.boundaryAccuracy ?? 0),
        ]
        if let verdict = outcome.verdict {
            lineage["gate_confidence"] = String(verdict.policy.confidence)
            lineage["gate_boundary_p"] = String(verdict.boundary.pCandidateBetter)
            lineage["gate_regression_p"] = String(verdict.overall.pCandidateWorse)
        }
        // A head-only candidate keeps the parent's backbone, and with it every cached embedding.
        if options.mode == .head { lineage["backbone_version"] = String(parent.backboneVersion) }
        return try registry.register(modelDirectory: staging, name: parent.name,
                                     record: VersionRecord(parent: parent.version, lineage: lineage))
    }
}
