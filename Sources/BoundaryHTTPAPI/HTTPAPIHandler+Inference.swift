import Foundation
import OpenAPIRuntime
import Serving
import Training

extension HTTPAPIHandler {
    public func predict(_ input: Operations.Predict.Input) async throws -> Operations.Predict.Output {
        let body: HTTPBody
        switch input.body {
        case .binary(let bytes), .jpeg(let bytes), .png(let bytes): body = bytes
        }
        let topK = input.query.topK ?? 0
        guard topK >= 0 else { throw ServingError.invalidArgument("top_k must not be negative; 0 means \(Prediction.defaultTopK)") }
        let prediction = try await predictor.predict(PredictionRequest(
            model: input.query.model ?? "", version: input.query.version ?? "",
            image: try await HTTPBodyLimit.collect(body, upTo: limits.request), topK: Int(topK),
            includeEmbedding: input.query.embedding ?? false))
        return .ok(.init(body: .json(Wire.prediction(prediction))))
    }

    public func explain(_ input: Operations.Explain.Input) async throws -> Operations.Explain.Output {
        let body: HTTPBody
        switch input.body {
        case .binary(let bytes), .jpeg(let bytes), .png(let bytes): body = bytes
        }
        let image = try await HTTPBodyLimit.collect(body, upTo: limits.request)
        let query = input.query
        let explanation = try await explainer.explain(ExplanationRequest(
            model: query.model ?? "", version: query.version ?? "", image: .bytes(image), label: query.label ?? "",
            layer: query.layer ?? "", featureMaps: Int(query.featureMaps ?? 0)))
        return .ok(.init(body: .json(Wire.explanation(explanation))))
    }

    public func explainImage(_ input: Operations.ExplainImage.Input) async throws -> Operations.ExplainImage.Output {
        let query = input.query
        let explanation = try await explainer.explain(ExplanationRequest(
            model: query.model ?? "", version: query.version ?? "", image: .id(input.path.imageId), label: query.label ?? "",
            layer: query.layer ?? "", featureMaps: Int(query.featureMaps ?? 0)))
        return .ok(.init(body: .json(Wire.explanation(explanation))))
    }

    /// Each `image` part is predicted as it arrives (a few at once, so they share batches); a bad
    /// file fails its own entry, not the upload.
    public func addImages(_ input: Operations.AddImages.Input) async throws -> Operations.AddImages.Output {
        guard case .multipartForm(let parts) = input.body else { throw ServingError.invalidArgument("send multipart/form-data") }
        let model = input.query.model ?? ""
        // Unknown model: one clear error for the request instead of the same one per file.
        _ = try await host.snapshot(model: model, version: .serving)
        typealias Entry = Components.Schemas.AddImagesResult.ResultsPayloadPayload
        var results: [Int: Entry] = [:]
        let inFlight = 8
        try await withThrowingTaskGroup(of: (Int, Entry).self) { group in
            var index = 0
            do {
                for try await part in parts {
                    guard index < limits.bulkFiles else {
                        throw ServingError.invalidArgument("an upload may carry at most \(limits.bulkFiles) files; send the rest in another")
                    }
                    let position = index
                    index += 1
                    guard case .image(let image) = part else {
                        if case .undocumented(let raw) = part { _ = try await HTTPBodyLimit.collectOrSkip(raw.body, upTo: 0) }
                        results[position] = Entry(index: Int32(position), error: Self.unexpectedPart(part))
                        continue
                    }
                    let filename = image.filename
                    guard let bytes = try await HTTPBodyLimit.collectOrSkip(image.payload.body, upTo: limits.image) else {
                        let tooLarge = BodyTooLarge(limit: limits.image, bytes: nil)
                        results[position] = Entry(index: Int32(position), filename: filename,
                                                  error: FailureMapping.failure(for: tooLarge, operation: "addImages", logger: logger).body)
                        continue
                    }
                    if position >= inFlight, let (done, entry) = try await group.next() { results[done] = entry }
                    group.addTask { [predictor, logger] in
                        do {
                            let prediction = try await predictor.predict(PredictionRequest(model: model, image: bytes))
                            return (position, Entry(index: Int32(position), filename: filename, prediction: Wire.prediction(prediction)))
                        } catch {
                            let failure = FailureMapping.failure(for: error, operation: "addImages", logger: logger)
                            return (position, Entry(index: Int32(position), filename: filename, error: failure.body))
                        }
                    }
                }
            } catch let error as BodyTooLarge {
                throw error
            } catch let error as ServingError {
                throw error
            } catch {
                // The parts could not be read: the body is not the multipart it claims to be.
                throw ServingError.invalidArgument("the multipart body could not be read: \(error)")
            }
            for try await (done, entry) in group { results[done] = entry }
        }
        return .ok(.init(body: .json(.init(results: results.keys.sorted().compactMap { results[$0] }))))
    }

    private static func unexpectedPart(_ part: Operations.AddImages.Input.Body.MultipartFormPayload) -> Components.Schemas.Failure {
        var name = "?"
        if case .undocumented(let raw) = part { name = raw.name ?? "?" }
        return .init(code: .invalidArgument,
                     message: "unexpected part \(EchoedValue.quoted(name)); send each file as a part named 'image'")
    }
}
