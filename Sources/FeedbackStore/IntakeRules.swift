/// The rules `record` applies inside its transaction, written once for every store: which of an
/// event's samples are new, and which side of the evaluation split each lands on. A store only
/// fetches what it holds for the event's images and inserts the result.
public enum IntakeRules {
    /// A sample the store already holds for one of the event's images.
    public struct Existing: Sendable {
        public var imageID: String
        public var kind: String
        public var label: String
        public var state: SampleState
        public init(imageID: String, kind: String, label: String, state: SampleState) {
            self.imageID = imageID
            self.kind = kind
            self.label = label
            self.state = state
        }
    }

    /// The event's samples without repeats, in a fixed order (inserts in a stable order).
    public static func uniqueSamples(_ event: FeedbackEvent) -> [FeedbackSample] {
        Array(Set(event.samples)).sorted { ($0.imageID, $0.kind.rawValue, $0.label) < ($1.imageID, $1.kind.rawValue, $1.label) }
    }

    /// The samples to store, each with its state. Samples identical to open, quarantined or
    /// discarded ones are duplicates (resending refused feedback under a new key changes
    /// nothing). An image keeps the side of the split its earlier samples took; a new image is held
    /// out by its id while its label has fewer held-out samples than the policy's cap
    /// (`heldOutCount(label)` reads the store's count).
    public static func plan(_ unique: [FeedbackSample], existing: [Existing], policy: RecordPolicy,
                            heldOutCount: (String) throws -> Int) throws -> [(FeedbackSample, SampleState)] {
        var open = Set<String>()
        var split: [String: SampleState] = [:]
        for sample in existing {
            switch sample.state {
            case .pending, .training, .heldOut, .quarantined, .discarded: open.insert("\(sample.imageID)\t\(sample.kind)\t\(sample.label)")
            case .consumed, .unusable: break
            }
            switch sample.state {
            case .heldOut: split[sample.imageID] = .heldOut
            case .pending, .training, .consumed: split[sample.imageID] = split[sample.imageID] ?? .pending
            case .quarantined, .discarded, .unusable: break  // Either side once: the id decides again.
            }
        }
        var heldOut: [String: Int] = [:]
        return try unique.filter { !open.contains("\($0.imageID)\t\($0.kind.rawValue)\t\($0.label)") }.map { sample in
            if let decided = split[sample.imageID] { return (sample, decided) }
            var decided: SampleState = EvaluationSplit.isHeldOut(sample.imageID) ? .heldOut : .pending
            if decided == .heldOut, let cap = policy.maxHeldOutPerLabel {
                let count = try heldOut[sample.label] ?? heldOutCount(sample.label)
                if count >= cap { decided = .pending } else { heldOut[sample.label] = count + 1 }
            }
            split[sample.imageID] = decided  // Every sample of one image lands on the same side.
            return (sample, decided)
        }
    }

    /// Each successful receipt with its model's queue depth after the whole batch.
    public static func withDepths(_ events: [FeedbackEvent], _ results: [Result<FeedbackReceipt, FeedbackStoreError>],
                                  depths: [String: Int]) -> [Result<FeedbackReceipt, FeedbackStoreError>] {
        zip(events, results).map { event, result in
            result.map { receipt in
                var receipt = receipt
                receipt.queueDepth = depths[event.model] ?? 0
                return receipt
            }
        }
    }
}
