import NeuralNet
import Serving

/// Feedback on a multi-head model is about one head: stored labels are the model's qualified
/// "head:label" ones, so the store, the queue and the retrain need no head column and a label
/// can never be taken for another head's.
enum HeadQualification {
    /// `submission` with its labels as the model's own (see `labels`).
    static func qualified(_ submission: FeedbackSubmission, spec: ModelSpec, model: String) throws -> FeedbackSubmission {
        var copy = submission
        let labels = try labels(label: submission.label, corrections: submission.corrections.map(\.label),
                                head: submission.head, spec: spec, model: model)
        copy.label = labels.label
        for (index, label) in labels.corrections.enumerated() { copy.corrections[index].label = label }
        return copy
    }

    /// The selection's label and its corrections' labels as the model's own labels: qualified
    /// with `head` when one is named, checked to be labels of the same head, or refused with
    /// what to send instead.
    static func labels(label: String, corrections: [String], head: String, spec: ModelSpec, model: String)
        throws -> (label: String, corrections: [String]) {
        guard let heads = spec.heads else {
            guard head.isEmpty else {
                throw ServingError.invalidArgument("model '\(model)' has a single head: leave head empty (got \(EchoedValue.quoted(head)))")
            }
            for name in [label] + corrections where !spec.labels.contains(name) {
                throw ServingError.unknownLabel(name, model: model, labels: spec.labels)
            }
            return (label, corrections)
        }
        let names = heads.map(\.name)
        let chosen: HeadSpec
        if head.isEmpty {
            let prefix = label.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            guard label.contains(":"), let match = heads.first(where: { $0.name == prefix }) else {
                throw ServingError.invalidArgument("model '\(model)' has heads \(names.joined(separator: ", ")): name the head in "
                                                   + "head, or send the label as head:label (got \(EchoedValue.quoted(label)))")
            }
            chosen = match
        } else {
            guard let match = heads.first(where: { $0.name == head }) else {
                throw ServingError.invalidArgument("model '\(model)' has no head \(EchoedValue.quoted(head)); its heads are: "
                                                   + names.joined(separator: ", "))
            }
            chosen = match
        }
        let qualified = Set(chosen.labels.map { "\(chosen.name):\($0)" })
        func qualify(_ name: String) throws -> String {
            let full = qualified.contains(name) ? name : "\(chosen.name):\(name)"
            guard qualified.contains(full) else {
                throw ServingError.unknownLabel(name, model: "\(model)' head '\(chosen.name)", labels: chosen.labels)
            }
            return full
        }
        return (try qualify(label), try corrections.map(qualify))
    }
}
