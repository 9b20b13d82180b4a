import ArgumentParser
import BoundaryAPI
import BoundaryClient
import Foundation

/// `boundary feedback --label L --keep a.jpg b.jpg --deselect c.jpg`: one lasso selection, sent
/// with the image bytes (so images need not have been predicted first).
struct FeedbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feedback",
        abstract: "Submit a lasso selection: images kept for a label, images deselected from it, corrections."
    )

    @Option(help: "The label the selection was made for.") var label: String
    @Option(help: "Multi-head models: the head --label belongs to (or give --label as head:label).") var head: String = ""
    @Option(parsing: .upToNextOption, help: "Images that show the label.") var keep: [String] = []
    @Option(parsing: .upToNextOption, help: "Images deselected: they do not show the label (boundary samples).")
    var deselect: [String] = []
    @Option(help: ArgumentHelp("A known true label, FILE=LABEL (repeatable).", valueName: "file=label"))
    var correct: [String] = []
    @Option(help: "Model (default: the server's default model).") var model: String = ""
    @Option(help: "Who is giving the feedback.") var user: String = ProcessInfo.processInfo.environment["USER"] ?? ""
    @Option(help: "Idempotency key; a retry with the same key is not counted twice (default: derived from the content).")
    var key: String?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        func load(_ path: String) throws -> Data {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            return data
        }
        let kept = try keep.map { Boundary_V1_ImageRef.bytes(try load($0)) }
        let deselected = try deselect.map { Boundary_V1_ImageRef.bytes(try load($0)) }
        let corrections = try correct.map { entry -> Boundary_V1_Correction in
            guard let equals = entry.lastIndex(of: "="), equals != entry.startIndex else {
                throw ValidationError("--correct expects FILE=LABEL, got '\(entry)'")
            }
            var correction = Boundary_V1_Correction()
            correction.image = .bytes(try load(String(entry[..<equals])))
            correction.label = String(entry[entry.index(after: equals)...])
            return correction
        }
        guard !kept.isEmpty || !deselected.isEmpty || !corrections.isEmpty else {
            throw ValidationError("nothing to submit: give --keep, --deselect or --correct")
        }
        // The default key hashes the selection's content, so re-running the same command is a retry.
        let idempotencyKey = key ?? Self.contentKey(label: head.isEmpty ? label : "\(head):\(label)", model: model,
                                                     parts: [keep, deselect, correct].map { $0.joined(separator: "\n") })
        let reply: Boundary_V1_SubmitFeedbackResponse
        do {
            reply = try await client.withClient { client in
                try await client.submitFeedback(model: model, label: label, kept: kept, deselected: deselected,
                                                corrections: corrections, userID: user, idempotencyKey: idempotencyKey, head: head)
            }
        } catch {
            throw ValidationError("feedback failed: \(describe(error))")
        }
        print("event \(reply.eventID): \(reply.accepted) accepted, \(reply.duplicates) duplicate(s)"
              + (reply.replayed ? " (already submitted; nothing counted twice)" : "")
              + "; \(reply.queueDepth) pending for the next retrain")
    }

    static func contentKey(label: String, model: String, parts: [String]) -> String {
        var hasher = FNV1a()
        for part in [label, model] + parts { hasher.add(part) }
        return "cli-\(String(hasher.value, radix: 16))"
    }
}

/// A stable 64-bit hash (Swift's `Hasher` is seeded per process, so it cannot key retries).
struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ text: String) {
        for byte in text.utf8 + [0] {
            value ^= UInt64(byte)
            value &*= 0x100_0000_01b3
        }
    }
}

/// `boundary queue`: what is waiting for the next retrain.
struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "queue", abstract: "Pending feedback per label and kind.")
    @Option(help: "Model (default: the server's default model).") var model: String = ""
    @OptionGroup var client: ClientOptions

    func run() async throws {
        let status: Boundary_V1_QueueStatus
        do {
            status = try await client.withClient { try await $0.queue(model: model) }
        } catch {
            throw ValidationError("queue failed: \(describe(error))")
        }
        print("\(status.model): \(status.pending) pending of \(status.total) samples from \(status.events) events")
        print("  states: \(status.pending) pending, \(status.training) training, \(status.heldOut) held out for evaluation, "
              + "\(status.consumed) consumed, \(status.quarantined) quarantined, \(status.unusable) unusable, \(status.discarded) discarded")
        for (reason, count) in status.unusableReasons.sorted(by: { $0.key < $1.key }) { print("  unusable: \(count) \(reason)") }
        print(String(format: "  store: %d images, %.1f MiB of image bytes, database %.1f MiB", status.storedImages,
                     Double(status.storedImageBytes) / 1_048_576, Double(status.databaseBytes) / 1_048_576))
        for label in status.labels {
            print("  \(label.label): \(label.positive) kept, \(label.negative) deselected, \(label.corrected) corrected")
        }
        if status.hasLastRetrain {
            let last = status.lastRetrain
            print("last retrain: job \(last.jobID), \(last.phase)" + (last.hasResult ? ": \(last.result.reason)" : ""))
        }
        if !status.nextRetrainAt.isEmpty { print("next scheduled retrain: \(status.nextRetrainAt)") }
    }
}

/// `boundary quarantine list|release|discard`: feedback kept out of training by a gate or the screen.
struct QuarantineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine",
        abstract: "List quarantined feedback (with verdicts), release it back to the queue, or discard feedback.",
        subcommands: [List.self, Release.self, Discard.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Events with quarantined samples, newest first.")
        @Option(help: "Model (default: the server's default model).") var model: String = ""
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let reply: Boundary_V1_ListQuarantineResponse
            do {
                reply = try await client.withClient { try await $0.quarantine(model: model) }
            } catch {
                throw ValidationError("quarantine list failed: \(describe(error))")
            }
            print("\(reply.model): \(reply.events.count) event(s) with quarantined samples")
            for event in reply.events {
                print("  event \(event.eventID)  user '\(event.userID)'  label '\(event.label)'  \(event.samples) sample(s)  \(event.createdAt)")
                print("    \(event.verdict)")
            }
        }
    }

    /// Which feedback a release or discard acts on.
    struct Selection: ParsableArguments {
        @Argument(help: "Event ids.") var events: [UInt64] = []
        @Option(help: "Everything one user sent (instead of event ids; \"\" for the anonymous user).") var user: String?
        @Option(help: "Model (default: the server's default model).") var model: String = ""

        var request: Boundary_V1_FeedbackSelection {
            var request = Boundary_V1_FeedbackSelection()
            request.model = model
            request.eventIds = events
            if let user {
                request.userID = user
                request.anonymousUser = user.isEmpty
            }
            return request
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Return quarantined samples to the queue (not screened again).")
        @OptionGroup var selection: Selection
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let request = selection.request
            do {
                let reply = try await client.withClient { try await $0.releaseFeedback(request) }
                print("released \(reply.samples) sample(s)")
            } catch {
                throw ValidationError("release failed: \(describe(error))")
            }
        }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Discard feedback for good (kept for audit, never trained on).")
        @OptionGroup var selection: Selection
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let request = selection.request
            do {
                let reply = try await client.withClient { try await $0.discardFeedback(request) }
                print("discarded \(reply.samples) sample(s)")
            } catch {
                throw ValidationError("discard failed: \(describe(error))")
            }
        }
    }
}
