import Foundation

/// One named head of a multi-head model: a softmax over its own labels
/// (e.g. `aperture: low | mid | high`).
public struct HeadSpec: Codable, Sendable, Equatable {
    public var name: String
    public var labels: [String]

    public init(name: String, labels: [String]) {
        self.name = name
        self.labels = labels
    }

    /// "head:label" for every label of every head, in order: a multi-head spec's `labels`.
    public static func qualifiedLabels(_ heads: [HeadSpec]) -> [String] {
        heads.flatMap { head in head.labels.map { "\(head.name):\($0)" } }
    }

    /// Why `heads` cannot describe a model, or nil when they can.
    public static func problem(with heads: [HeadSpec]) -> String? {
        guard !heads.isEmpty else { return "a multi-head model needs at least one head" }
        var seen = Set<String>()
        for head in heads {
            guard !head.name.isEmpty, !head.name.contains(":") else {
                return "head names must be non-empty and contain no ':' (got '\(head.name)')"
            }
            guard seen.insert(head.name).inserted else { return "head '\(head.name)' is declared twice" }
            guard !head.labels.isEmpty else { return "head '\(head.name)' has no labels" }
            guard Set(head.labels).count == head.labels.count else { return "head '\(head.name)' repeats a label" }
        }
        return nil
    }
}

/// A head and where its outputs sit in the final layer's row of logits or probabilities.
public struct OutputHead: Sendable, Equatable {
    /// Empty for the single head of a classic model.
    public let name: String
    public let labels: [String]
    public let offset: Int

    public init(name: String, labels: [String], offset: Int) {
        self.name = name
        self.labels = labels
        self.offset = offset
    }

    public var count: Int { labels.count }
    public var range: Range<Int> { offset..<(offset + labels.count) }
}

extension Softmax {
    /// values [rows, Σ heads], in place: each head's slice of a row becomes its own distribution.
    public static func heads(_ values: UnsafeMutablePointer<Float>, rows: Int, heads: [OutputHead]) {
        guard heads.count > 1 else {
            Softmax.rows(values, rows: rows, columns: heads.first?.count ?? 0)
            return
        }
        let columns = heads.last!.range.upperBound
        for r in 0..<rows {
            for head in heads { Softmax.rows(values + r * columns + head.offset, rows: 1, columns: head.count) }
        }
    }
}
