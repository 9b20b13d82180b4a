import Serving
import Testing
@testable import Retraining

@Suite struct FeedbackValidationTests {
    static func refused(_ selection: ResolvedSelection) -> String? {
        do {
            try selection.validate()
            return nil
        } catch let error as ServingError {
            return error.description
        } catch {
            return "\(error)"
        }
    }

    @Test func contradictorySelectionsAreRefusedNamingTheImage() {
        let both = ResolvedSelection(label: "cat", kept: ["a", "b"], deselected: ["b"], corrections: [])
        #expect(Self.refused(both)?.contains("image b is both kept and deselected") == true)
        let ownLabel = ResolvedSelection(label: "cat", kept: [], deselected: ["c"], corrections: [("c", "cat")])
        #expect(Self.refused(ownLabel)?.contains("the selection's own label") == true)
        let keptCorrected = ResolvedSelection(label: "cat", kept: ["d"], deselected: [], corrections: [("d", "dog")])
        #expect(Self.refused(keptCorrected)?.contains("kept as 'cat' and corrected to 'dog'") == true)
        let twoTruths = ResolvedSelection(label: "cat", kept: [], deselected: ["e"], corrections: [("e", "dog"), ("e", "fox")])
        #expect(Self.refused(twoTruths)?.contains("corrected to both") == true)
        let fine = ResolvedSelection(label: "cat", kept: ["a", "a"], deselected: ["e"], corrections: [("e", "dog"), ("f", "fox")])
        #expect(Self.refused(fine) == nil, "repeats and corrections of deselected or unlisted images are fine")
    }

    @Test func theContentDigestIgnoresOrderButNotContent() {
        let one = ResolvedSelection(label: "cat", kept: ["a", "b"], deselected: ["c"], corrections: [])
        let reordered = ResolvedSelection(label: "cat", kept: ["b", "a", "a"], deselected: ["c"], corrections: [])
        let other = ResolvedSelection(label: "cat", kept: ["a"], deselected: ["b", "c"], corrections: [])
        #expect(one.digest(userID: "u") == reordered.digest(userID: "u"))
        #expect(one.digest(userID: "u") != other.digest(userID: "u"))
        #expect(one.digest(userID: "u") != one.digest(userID: "v"), "who said it is part of what was said")
        #expect(one.digest(userID: "u").count == 64)
    }
}
