import NeuralNet
import Testing
@testable import Retraining

@Suite struct FeedbackScreenTests {
    /// Two well-separated classes in a 2-D embedding space; the "model" is confident of the class
    /// whose cluster a point lies in, except for a band of hard cases it gets wrong.
    struct World {
        var embeddings: [Float] = []
        var probabilities: [Float] = []
        var labels: [Int] = []

        /// A point of true class `label`; `modelWrong` puts the model's (unconfident) vote on the other.
        mutating func add(_ label: Int, jitter: Float, modelWrong: Bool = false) {
            embeddings += label == 0 ? [1, jitter] : [jitter, 1]
            let predicted = modelWrong ? 1 - label : label
            let confidence: Float = modelWrong ? 0.55 : 0.95
            probabilities += predicted == 0 ? [confidence, 1 - confidence] : [1 - confidence, confidence]
            labels.append(label)
        }

        var view: FeedbackScreen.View { .init(probabilities: probabilities, embeddings: embeddings) }
    }

    static func reference() -> World {
        var world = World()
        for i in 0..<100 { world.add(i % 2, jitter: Float(i % 7) * 0.02, modelWrong: i % 10 == 0) }
        return world
    }

    @Test func aReviewerWhoInvertsConfidentLabelsIsQuarantinedAndHonestOnesAreNot() {
        var feedback = World()
        var targets: [Target] = [], users: [String] = []
        for i in 0..<40 {
            // Honest: keeps what the model gets right, deselects its mistakes.
            let wrong = i % 5 == 0
            feedback.add(i % 2, jitter: 0.03, modelWrong: wrong)
            targets.append(wrong ? .notLabel(1 - i % 2) : .label(i % 2))
            users.append("honest")
            // Liar: deselects confident, correct predictions.
            feedback.add(i % 2, jitter: 0.03)
            targets.append(i % 3 == 0 ? .notLabel(i % 2) : .label(i % 2))
            users.append("liar")
        }
        let reference = Self.reference()
        let screen = FeedbackScreen(policy: ScreenPolicy())
        let result = screen.screen(targets: targets, users: users, released: Array(repeating: false, count: targets.count),
                                   feedback: feedback.view, reference: reference.view, referenceLabels: reference.labels,
                                   classes: 2, embeddingSize: 2)
        let byUser = Dictionary(uniqueKeysWithValues: result.users.map { ($0.userID, $0) })
        #expect(byUser["liar"]?.quarantined == true && byUser["liar"]!.flagged >= 10, "\(String(describing: byUser["liar"]))")
        #expect(byUser["honest"]?.quarantined == false && byUser["honest"]?.flagged == 0, "\(String(describing: byUser["honest"]))")
        #expect(byUser["honest"]!.contradicted == 8, "the model contradicts the honest deselections of its own mistakes")
        // A released sample is never flagged again.
        let released = users.map { $0 == "liar" }
        let again = screen.screen(targets: targets, users: users, released: released, feedback: feedback.view,
                                  reference: reference.view, referenceLabels: reference.labels, classes: 2, embeddingSize: 2)
        #expect(again.users.allSatisfy { !$0.quarantined } && !again.flagged.contains(true))
    }

    @Test func withoutLabelledNeighboursNothingIsScreened() {
        var feedback = World()
        feedback.add(0, jitter: 0)
        let result = FeedbackScreen(policy: ScreenPolicy()).screen(
            targets: [.notLabel(0)], users: ["u"], released: [false], feedback: feedback.view,
            reference: .init(probabilities: [], embeddings: []), referenceLabels: [], classes: 2, embeddingSize: 2)
        #expect(result.users.count == 1 && result.users[0].samples == 1 && !result.users[0].quarantined && result.flagged == [false])
    }
}
