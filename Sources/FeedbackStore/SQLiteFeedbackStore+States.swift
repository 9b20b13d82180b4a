import Foundation
import GRDB

extension SQLiteFeedbackStore {
    public func setState(_ sampleIDs: [Int64], to state: SampleState, version: Int?, reason: String?,
                         ifIn current: SampleState?) throws {
        guard !sampleIDs.isEmpty else { return }
        try pool.write { db in
            for chunk in Self.chunks(sampleIDs) {
                try db.execute(sql: """
                    UPDATE sample SET state = ?, consumedByVersion = COALESCE(?, consumedByVersion), reason = ?
                    WHERE id IN (\(Self.placeholders(chunk.count))) AND (? IS NULL OR state = ?)
                    """, arguments: StatementArguments([state.rawValue, version, reason] as [(any DatabaseValueConvertible)?] + chunk
                                                       + [current?.rawValue, current?.rawValue]))
            }
        }
    }

    public func resetInterruptedTraining() throws -> Int {
        try pool.write { db in
            try db.execute(sql: "UPDATE sample SET state = 'pending' WHERE state = 'training'")
            return db.changesCount
        }
    }

    public func quarantine(model: String, _ selector: FeedbackSelector, verdict: String) throws -> Int {
        try pool.write { db in
            let events = try Self.eventIDs(db, model: model, selector)
            var moved = 0
            for chunk in Self.chunks(events) {
                let list = Self.placeholders(chunk.count)
                try db.execute(sql: """
                    UPDATE sample SET state = 'quarantined', reason = ?
                    WHERE eventID IN (\(list)) AND state IN ('pending', 'training', 'held-out')
                    """, arguments: StatementArguments([verdict] + chunk))
                moved += db.changesCount
                try db.execute(sql: "UPDATE event SET verdict = ? WHERE id IN (\(list))",
                               arguments: StatementArguments([verdict] + chunk))
            }
            return moved
        }
    }

    public func quarantinedEvents(model: String) throws -> [QuarantinedEvent] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT event.id, event.userID, event.label, event.createdAt, COALESCE(event.verdict, '') AS verdict, COUNT(*) AS n
                FROM sample JOIN event ON event.id = sample.eventID
                WHERE sample.model = ? AND sample.state = 'quarantined'
                GROUP BY event.id ORDER BY event.id DESC
                """, arguments: [model]).map { row in
                QuarantinedEvent(eventID: row["id"], userID: row["userID"], label: row["label"], createdAt: row["createdAt"],
                                 quarantinedSamples: row["n"], verdict: row["verdict"])
            }
        }
    }

    public func release(model: String, _ selector: FeedbackSelector) throws -> Int {
        try pool.write { db in
            var moved = 0
            for chunk in Self.chunks(try Self.eventIDs(db, model: model, selector)) {
                let rows = try Row.fetchAll(db, sql: """
                    SELECT id, imageID FROM sample WHERE state = 'quarantined' AND eventID IN (\(Self.placeholders(chunk.count)))
                    """, arguments: StatementArguments(chunk))
                // Back to the side of the split the image's other samples are on, or its id's.
                var split: [String: SampleState] = [:]
                let images = Array(Set(rows.map { $0["imageID"] as String }))
                for part in Self.chunks(images) {
                    for other in try Row.fetchAll(db, sql: """
                        SELECT imageID, state FROM sample WHERE model = ? AND state IN ('held-out', 'pending', 'training', 'consumed')
                        AND imageID IN (\(Self.placeholders(part.count)))
                        """, arguments: StatementArguments([model] + part)) {
                        let image: String = other["imageID"]
                        if other["state"] == SampleState.heldOut.rawValue { split[image] = .heldOut }
                        else if split[image] == nil { split[image] = .pending }
                    }
                }
                for row in rows {
                    let image: String = row["imageID"]
                    let state = split[image] ?? (EvaluationSplit.isHeldOut(image) ? .heldOut : .pending)
                    try db.execute(sql: "UPDATE sample SET state = ?, reason = NULL, released = 1 WHERE id = ?",
                                   arguments: [state.rawValue, row["id"] as Int64])
                }
                moved += rows.count
                try db.execute(sql: "UPDATE event SET verdict = NULL WHERE id IN (\(Self.placeholders(chunk.count)))",
                               arguments: StatementArguments(chunk))
            }
            return moved
        }
    }

    public func discard(model: String, _ selector: FeedbackSelector) throws -> Int {
        try pool.write { db in
            var moved = 0
            for chunk in Self.chunks(try Self.eventIDs(db, model: model, selector)) {
                try db.execute(sql: """
                    UPDATE sample SET state = 'discarded', reason = 'discarded by an admin'
                    WHERE eventID IN (\(Self.placeholders(chunk.count))) AND state IN ('pending', 'training', 'held-out', 'quarantined')
                    """, arguments: StatementArguments(chunk))
                moved += db.changesCount
            }
            return moved
        }
    }

    private static func eventIDs(_ db: Database, model: String, _ selector: FeedbackSelector) throws -> [Int64] {
        switch selector {
        case .events(let ids):
            guard !ids.isEmpty else { return [] }
            return try chunks(ids).flatMap { chunk in
                try Int64.fetchAll(db, sql: "SELECT id FROM event WHERE model = ? AND id IN (\(placeholders(chunk.count)))",
                                   arguments: StatementArguments([model] as [any DatabaseValueConvertible] + chunk))
            }
        case .user(let user):
            return try Int64.fetchAll(db, sql: "SELECT id FROM event WHERE model = ? AND userID = ?", arguments: [model, user])
        }
    }
}
