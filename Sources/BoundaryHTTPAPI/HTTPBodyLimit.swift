import Foundation
import OpenAPIRuntime
import Synchronization

/// A request body longer than its operation allows. Answered with 413 and the words the gRPC
/// transport uses for an oversized message.
struct BodyTooLarge: Error {
    let limit: Int
    /// The declared or counted size, when known.
    let bytes: Int?
}

enum HTTPBodyLimit {
    /// `body` passed on chunk by chunk, throwing ``BodyTooLarge`` as soon as more than `limit` bytes
    /// have arrived, so a client without a Content-Length cannot stream the server out of memory.
    static func limited(_ body: HTTPBody, to limit: Int) -> HTTPBody {
        let seen = Counter()
        let checked = body.map { chunk -> HTTPBody.ByteChunk in
            let total = seen.add(chunk.count)
            if total > limit { throw BodyTooLarge(limit: limit, bytes: nil) }
            return chunk
        }
        return HTTPBody(checked, length: body.length, iterationBehavior: body.iterationBehavior)
    }

    /// The whole of `body`, or ``BodyTooLarge`` past `limit` bytes.
    static func collect(_ body: HTTPBody, upTo limit: Int) async throws -> Data {
        if case .known(let length) = body.length, length > limit { throw BodyTooLarge(limit: limit, bytes: Int(length)) }
        var data = Data()
        for try await chunk in body {
            guard data.count + chunk.count <= limit else { throw BodyTooLarge(limit: limit, bytes: nil) }
            data.append(contentsOf: chunk)
        }
        return data
    }

    /// The whole of `body`, or nil when it is longer than `limit`, in which case the rest is read
    /// and dropped: a multipart upload can only move on to its next part once this one is consumed.
    static func collectOrSkip(_ body: HTTPBody, upTo limit: Int) async throws -> Data? {
        var data: Data? = Data()
        for try await chunk in body {
            if let collected = data, collected.count + chunk.count <= limit { data!.append(contentsOf: chunk) } else { data = nil }
        }
        return data
    }

    private final class Counter: Sendable {
        private let total = Atomic<Int>(0)
        func add(_ count: Int) -> Int { total.add(count, ordering: .relaxed).newValue }
    }
}
