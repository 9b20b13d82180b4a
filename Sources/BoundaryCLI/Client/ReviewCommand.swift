import ArgumentParser
import BoundaryAPI
import Foundation

/// `boundary review list|thumbnail`: what reviewers lasso from — recent predictions, least certain
/// first, and thumbnails.
struct ReviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "List recently predicted images for review (least certain first) or save a thumbnail.",
        subcommands: [List.self, Thumbnail.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recent predictions of a model, one page at a time.")
        @Option(help: "Model (default: the server's default model).") var model: String = ""
        @Option(help: "Only images whose top label is this one.") var label: String = ""
        @Flag(help: "Only images under the model's boundary threshold.") var boundaryOnly = false
        @Flag(help: "Newest first instead of smallest margin first.") var newest = false
        @Option(help: "Candidates per page (1-5000).") var pageSize: Int = 20
        @Option(help: "next_page_token of the previous page.") var pageToken: String = ""
        @OptionGroup var client: ClientOptions

        func run() async throws {
            var request = Boundary_V1_ListCandidatesRequest()
            request.model = model
            request.predictedLabel = label
            request.boundaryOnly = boundaryOnly
            request.order = newest ? .newestFirst : .marginAscending
            request.pageSize = UInt32(clamping: max(pageSize, 0))
            request.pageToken = pageToken
            let page: Boundary_V1_ListCandidatesResponse
            do {
                page = try await client.withClient { try await $0.listCandidates(request) }
            } catch {
                throw ValidationError("review failed: \(describe(error))")
            }
            print("\(page.model): \(page.candidates.count) of \(page.total) candidates"
                  + (page.explainedVariance.count == 2 ? String(format: "; map axes show %.0f%% + %.0f%% of the variance",
                                                                page.explainedVariance[0] * 100, page.explainedVariance[1] * 100) : ""))
            for candidate in page.candidates {
                let labels = candidate.labels.map { "\($0.label) " + String(format: "%.3f", $0.score) }.joined(separator: ", ")
                let place = candidate.positioned ? String(format: "(%.2f, %.2f)", candidate.x, candidate.y) : "(unplaced)"
                print("  \(candidate.imageID)  margin " + String(format: "%.3f", candidate.margin)
                      + (candidate.boundary ? " boundary" : "") + "  \(labels)  v\(candidate.version)  \(place)")
            }
            if !page.nextPageToken.isEmpty { print("next page: --page-token \(page.nextPageToken)") }
        }
    }

    struct Thumbnail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Save a JPEG thumbnail of an image the server remembers.")
        @Argument(help: "The image id Predict returned.") var imageID: String
        @Option(name: .shortAndLong, help: "Output file.") var output: String
        @Option(help: "Longest side in pixels (1-512).") var maxSide: Int = 128
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let thumbnail: Boundary_V1_Thumbnail
            do {
                thumbnail = try await client.withClient { try await $0.thumbnail(imageID: imageID, maxSide: maxSide) }
            } catch {
                throw ValidationError("thumbnail failed: \(describe(error))")
            }
            try thumbnail.jpeg.write(to: URL(fileURLWithPath: output), options: .atomic)
            print("\(output): \(thumbnail.width)×\(thumbnail.height) JPEG, \(thumbnail.jpeg.count) bytes")
        }
    }
}
