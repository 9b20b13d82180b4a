import ArgumentParser
import BoundaryAPI
import Foundation
import Serving

/// Filters both search commands take.
struct SearchFilterOptions: ParsableArguments {
    @Option(help: "Only images whose top label is this one.") var label: String = ""
    @Flag(help: "Only images under the model's boundary threshold.") var boundaryOnly = false
    @Option(help: "Only images predicted by this model version.") var predictedBy: Int = 0
    @Option(help: "Only images predicted at or after this RFC 3339 time.") var since: String = ""
    @Option(help: "Only images predicted before this RFC 3339 time.") var until: String = ""

    var wire: Boundary_V1_SearchFilter {
        var filter = Boundary_V1_SearchFilter()
        filter.predictedLabel = label
        filter.boundaryOnly = boundaryOnly
        filter.version = UInt64(clamping: max(predictedBy, 0))
        filter.seenAfter = since
        filter.seenBefore = until
        return filter
    }
}

/// `boundary similar IMAGE`: the indexed images most like a file or an image id.
struct SimilarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similar", abstract: "Find the images the server has seen that look most like an image (reverse image search).")
    @Argument(help: "An image file (JPEG or PNG), or the id Predict returned for an image.") var image: String
    @Option(help: "Model (default: the server's default model).") var model: String = ""
    @Option(name: .shortAndLong, help: "Results (1-1000).") var k: Int = 10
    @OptionGroup var filter: SearchFilterOptions
    @OptionGroup var client: ClientOptions

    func run() async throws {
        var request = Boundary_V1_FindSimilarRequest()
        request.model = model
        request.k = UInt32(clamping: max(k, 0))
        request.filter = filter.wire
        if FileManager.default.fileExists(atPath: image) {
            request.image = try Data(contentsOf: URL(fileURLWithPath: image))
        } else if image.count == 64, image.allSatisfy(\.isHexDigit) {
            request.imageID = image
        } else {
            throw ValidationError("\(image): no such file, and not an image id (64 hex digits)")
        }
        let reply: Boundary_V1_FindSimilarResponse
        do {
            reply = try await client.withClient { try await $0.findSimilar(request) }
        } catch {
            throw ValidationError("similar failed: \(describe(error))")
        }
        print("\(reply.model): \(reply.matches.count) images like \(reply.queryImageID)")
        printMatches(reply.matches)
    }
}

/// `boundary search WORD`: images for a class label or a learned word; marks teach the word.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find images by a word: a class label, or any word learned from your marks.",
        discussion: """
            A class label ranks images by the classifier's probability. Any other word starts empty: give it \
            --example ID, or mark results with --relevant/--not-relevant (marks on a class label become feedback \
            for the next retrain). --list shows the learned words; --delete forgets one.
            """)
    @Argument(help: "The word.") var word: String?
    @Option(help: "Model (default: the server's default model).") var model: String = ""
    @Option(help: "Results per page (1-1000).") var pageSize: Int = 20
    @Option(help: "next_page_token of the previous page.") var pageToken: String = ""
    @Option(help: "An indexed image (its id, or the file it was predicted from) that starts a learned word with no query yet.")
    var example: String = ""
    @Option(parsing: .upToNextOption, help: "Images (ids, or the files they were predicted from) to mark relevant before searching.")
    var relevant: [String] = []
    @Option(parsing: .upToNextOption, help: "Images (ids, or the files they were predicted from) to mark not relevant before searching.")
    var notRelevant: [String] = []
    @Option(help: "Idempotency key for the marks (default: a new UUID; reuse it to retry safely).")
    var idempotencyKey: String = UUID().uuidString
    @Option(help: "Who marked (admin tokens only).") var user: String = ""
    @Flag(help: "List the learned words.") var list = false
    @Flag(help: "Forget the learned word.") var delete = false
    @OptionGroup var filter: SearchFilterOptions
    @OptionGroup var client: ClientOptions

    func validate() throws {
        if !list, word == nil { throw ValidationError("give a word, or --list") }
    }

    func run() async throws {
        do {
            if list {
                let reply = try await client.withClient { try await $0.listQueries(model: model) }
                print("\(reply.model): \(reply.queries.count) learned words")
                for query in reply.queries {
                    print("  \(query.word)  \(rounds(query.rounds)), \(query.relevant) relevant, \(query.notRelevant) not"
                          + (query.ready ? "" : " (no query yet)") + "  \(query.updatedAt)")
                }
                return
            }
            let word = word ?? ""
            if delete {
                let reply = try await client.withClient { try await $0.deleteQuery(model: model, word: word) }
                print("\(reply.model): forgot '\(word)'")
                return
            }
            if !relevant.isEmpty || !notRelevant.isEmpty {
                var marks = Boundary_V1_MarkResultsRequest()
                marks.model = model
                marks.word = word
                marks.idempotencyKey = idempotencyKey
                marks.userID = user
                marks.marks = try relevant.map { (try imageID($0), true) }.map(Self.mark)
                    + notRelevant.map { (try imageID($0), false) }.map(Self.mark)
                let reply = try await client.withClient { try await $0.markResults(marks) }
                print(reply.kind == .classLabel
                      ? "marks on label '\(reply.word)' queued \(reply.queuedSamples) feedback samples" + (reply.replayed ? " (replayed)" : "")
                      : "'\(reply.word)' learned from round \(reply.rounds)" + (reply.replayed ? " (replayed: already counted)" : ""))
            }
            var request = Boundary_V1_SearchRequest()
            request.model = model
            request.word = word
            request.pageSize = UInt32(clamping: max(pageSize, 0))
            request.pageToken = pageToken
            request.filter = filter.wire
            request.exampleImageID = example.isEmpty ? "" : try imageID(example)
            let reply = try await client.withClient { try await $0.search(request) }
            let kind = reply.kind == .classLabel ? "class label, by the classifier's probability"
                : "learned word, \(rounds(reply.rounds)) of marks"
            print("\(reply.model): '\(reply.word)' (\(kind)): \(reply.matches.count) images")
            if !reply.hint.isEmpty { print(reply.hint) }
            printMatches(reply.matches)
            if !reply.nextPageToken.isEmpty { print("next page: --page-token \(reply.nextPageToken)") }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("search failed: \(describe(error))")
        }
    }

    private static func mark(_ pair: (String, Bool)) -> Boundary_V1_ResultMark {
        var mark = Boundary_V1_ResultMark()
        mark.imageID = pair.0
        mark.relevant = pair.1
        return mark
    }
}

private func rounds(_ count: UInt32) -> String { count == 1 ? "1 round" : "\(count) rounds" }

/// An image id as given, or the id of a file's bytes (what Predict returned for it: their SHA-256).
private func imageID(_ text: String) throws -> String {
    guard FileManager.default.fileExists(atPath: text) else { return text }
    return Predictor.imageID(of: try Data(contentsOf: URL(fileURLWithPath: text)))
}

private func printMatches(_ matches: [Boundary_V1_SearchMatch]) {
    for match in matches {
        print("  \(match.imageID)  score " + String(format: "%.4f", match.score) + "  \(match.predictedLabel)  margin "
              + String(format: "%.3f", match.margin) + (match.boundary ? " boundary" : "") + "  v\(match.version)  \(match.predictedAt)")
    }
}
