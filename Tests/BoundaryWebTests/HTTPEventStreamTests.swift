import BoundaryServer
import BoundaryTestSupport
import DemoData
import Foundation
import HTTPTypes
import Synchronization
import Testing

/// Retrain progress and queue changes arrive as Server-Sent Events.
@Suite struct HTTPEventStreamTests {
    /// `text/event-stream` → (event, JSON data) pairs.
    static func events(_ text: String) -> [(event: String, data: [String: Any])] {
        text.components(separatedBy: "\n\n").compactMap { block in
            var event = "", data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event:") { event = line.dropFirst(6).trimmingCharacters(in: .whitespaces) }
                if line.hasPrefix("data:") { data += line.dropFirst(5).trimmingCharacters(in: .whitespaces) }
            }
            guard !event.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else { return nil }
            return (event, object)
        }
    }

    @Test func aRetrainStreamsEveryPhaseAndEndsWithTheVerdict() async throws {
        let harness = try await WebHarness()
        try await harness.run { http, _ in
            var kept: [[String: String]] = []
            for seed in 0..<6 {
                let reply = try await http.call(.post, "/v1/predict", contentType: "image/png",
                                                body: try Fixtures.png(width: 32, height: 32, seed: 60 + UInt64(seed)))
                kept.append(["image_id": try #require(reply.json["image_id"] as? String)])
            }
            _ = try await http.json(.post, "/v1/feedback", ["label": "circle", "kept": kept, "idempotency_key": "sse"])
            #expect(try await http.call(.get, "/v1/retrain").status == 404, "no retrain has run yet")

            let started = try await http.json(.post, "/v1/retrain", ["mode": "head", "epochs": 3, "dry_run": true, "min_new_samples": 1])
            #expect(started.status == 202 && started.json["phase"] as? String == "queued", "\(started.text)")
            let stream = try await http.call(.get, "/v1/retrain/events")
            #expect(stream.status == 200 && stream.headers[.contentType]?.hasPrefix("text/event-stream") == true)
            let events = Self.events(stream.text)
            #expect(events.allSatisfy { $0.event == "progress" } && events.first?.data["phase"] as? String == "queued")
            #expect(events.contains { $0.data["phase"] as? String == "training" })
            let last = try #require(events.last?.data)
            #expect(last["phase"] as? String == "done", "\(last)")
            let result = try #require(last["result"] as? [String: Any])
            #expect(result["promoted"] as? Bool == false && !(result["reason"] as? String ?? "").isEmpty, "a dry run never promotes")
            #expect(try await http.call(.get, "/v1/retrain").json["phase"] as? String == "done")
        }
    }

    @Test func theQueueStreamSendsEachChangeAndEndsWhenTheServerDrains() async throws {
        let harness = try await WebHarness()
        let drain = harness.builder.drain
        try await harness.run(queuePollInterval: .milliseconds(20)) { http, _ in
            let reply = try await http.call(.post, "/v1/predict", contentType: "image/png", body: try Fixtures.png(seed: 5))
            let id = try #require(reply.json["image_id"] as? String)
            async let stream = http.call(.get, "/v1/queue/events")
            try await Task.sleep(for: .milliseconds(200))
            _ = try await http.json(.post, "/v1/feedback", ["label": "square", "kept": [["image_id": id]], "idempotency_key": "q"])
            try await Task.sleep(for: .milliseconds(300))
            drain.begin()
            let events = Self.events(try await stream.text)
            // The queue as it was, then again after the feedback. The counts change once; other
            // fields may change on their own (the database file's size when SQLite checkpoints its
            // log) and are sent as changes too, but never the same status twice in a row.
            #expect(events.count >= 2 && events.allSatisfy { $0.event == "queue" }, "\(events.map(\.data))")
            let totals = events.map { $0.data["total"] as? Int ?? -1 }
            #expect(totals.first == 0 && totals.last == 1 && totals == totals.sorted(), "totals \(totals)")
            // The one sample waits for training, or for evaluation if the split holds it out.
            let waiting = events.map { ($0.data["pending"] as? Int ?? -1) + ($0.data["held_out"] as? Int ?? -1) }
            #expect(waiting.first == 0 && waiting.last == 1, "pending + held out \(waiting)")
            #expect(zip(events, events.dropFirst()).allSatisfy { !NSDictionary(dictionary: $0.data).isEqual(to: $1.data) },
                    "a status is sent only when it changed")
        }
    }
}
