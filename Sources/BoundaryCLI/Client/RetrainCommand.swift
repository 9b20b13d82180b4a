import ArgumentParser
import BoundaryAPI
import BoundaryClient
import Foundation

/// `boundary retrain --server HOST:PORT [--mode head|full] [--wait]`: fine-tune the serving model on
/// the queued feedback, from cron or a Kubernetes CronJob as well as by hand.
struct RetrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrain",
        abstract: "Fine-tune the served model on queued feedback; the gate decides whether the candidate serves."
    )

    enum Mode: String, ExpressibleByArgument { case head, full }

    @Option(help: "Model (default: the server's default model).") var model: String = ""
    @Option(help: "head: the final layer on cached embeddings (seconds); full: the network, with augmentation.")
    var mode: Mode = .head
    @Option(help: "full only: fine-tune only the last N convolutional stages and the head.") var unfreeze: UInt32 = 0
    @Option(help: "Epochs (default 10 head, 3 full).") var epochs: UInt32 = 0
    @Option(help: "Learning rate (default 1e-2 head, 3e-4 full).") var lr: Float = 0
    @Option(help: "Weight of deselected/corrected samples (boundary upsampling ×U).") var upsample: Float = 4
    @Option(help: "Replayed base samples per feedback sample.") var replayRatio: Float = 1
    @Option(help: "Do nothing below this many pending samples.") var minSamples: UInt32 = 1
    @Option(help: "Evaluation-set accuracy the candidate may lose and still be promoted.") var tolerance: Float = 0
    @Option(help: "Confidence of the gate's paired tests (default 0.9).") var confidence: Float = 0
    @Option(help: "Evaluation samples each class needs before the gate judges (default 20).") var minEvaluationPerClass: UInt32 = 0
    @Flag(help: "Train and evaluate, never promote.") var dryRun = false
    @Flag(help: "Follow the running retrain instead of starting one.") var watch = false
    @Flag(inversion: .prefixedNo, help: "Stream progress until the job ends (--no-wait: start it and return).")
    var wait = true
    @OptionGroup var client: ClientOptions

    func run() async throws {
        var request = Boundary_V1_RetrainRequest()
        request.model = model
        request.mode = mode == .full ? .full : .head
        request.unfreezeBlocks = unfreeze
        request.epochs = epochs
        request.learningRate = lr
        request.boundaryUpsampling = upsample
        request.replayRatio = replayRatio == 0 ? -1 : replayRatio
        request.minNewSamples = minSamples
        request.tolerance = tolerance
        request.confidence = confidence
        request.minEvaluationPerClass = minEvaluationPerClass
        request.dryRun = dryRun
        let wait = wait
        let last: Boundary_V1_RetrainProgress
        do {
            last = try await client.withClient { client in
                let print: @Sendable (Boundary_V1_RetrainProgress) -> Void = { update in Self.report(update) }
                if watch { return try await client.watchRetrain(model: model, onProgress: print) }
                if !wait {
                    // The job runs on the server whether or not anyone follows it.
                    return try await client.retrainStart(request)
                }
                return try await client.retrain(request, onProgress: print)
            }
        } catch {
            throw ValidationError("retrain failed: \(describe(error))")
        }
        if !wait && !watch { print("started retrain job \(last.jobID); follow it with `boundary retrain --watch`"); return }
        if last.phase == "failed" { throw ValidationError("retrain failed: \(last.error)") }
    }

    static func report(_ update: Boundary_V1_RetrainProgress) {
        switch update.phase {
        case "training":
            print(String(format: "epoch %d/%d  loss %.4f  accuracy %.3f  eta %.0fs", update.epoch, update.epochs,
                         update.loss, update.accuracy, update.etaSeconds))
        case "done":
            let result = update.result
            print(result.reason)
            print(String(format: "evaluation accuracy %.3f → %.3f on %d samples (%d held-out feedback, %d base); "
                         + "boundary %.3f → %.3f (%d boundary samples)",
                         result.before.accuracy, result.after.accuracy, result.after.samples, result.evaluationFeedback,
                         result.evaluationBase, result.before.boundaryAccuracy, result.after.boundaryAccuracy,
                         result.after.boundarySamples))
            for user in result.users {
                print("  user '\(user.userID)': \(user.samples) sample(s), \(user.flagged) flagged of \(user.contradicted) contradicted "
                      + String(format: "(honest ≈ %.1f, p = %.2g), ", user.expectedFlags, user.screenPValue)
                      + "\(user.trained) trained, \(user.deferred) deferred" + (user.quarantined ? ", QUARANTINED by the screen" : ""))
            }
            if result.quarantinedSamples > 0 || result.unusableSamples > 0 {
                print("  \(result.quarantinedSamples) sample(s) quarantined, \(result.unusableSamples) unusable "
                      + "(see `boundary quarantine` and `boundary queue`)")
            }
            if result.promoted { print("now serving version \(result.candidateVersion) (parent \(result.parentVersion))") }
        case "failed":
            print("failed: \(update.error)")
        default:
            print("\(update.phase) (job \(update.jobID))")
        }
    }
}
