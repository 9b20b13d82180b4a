import Testing
@testable import Training

@Suite struct UpsamplingExperimentTests {
    /// A miniature run: every condition gets one row per seed with the base and each round, the
    /// base column is shared, and the table has a line per condition and metric.
    @Test func miniatureRunFillsEveryCell() throws {
        var settings = UpsamplingExperiment.Settings()
        settings.seeds = 1
        settings.rounds = 1
        settings.baseImagesPerClass = 3
        settings.poolPerRound = 20
        settings.testImages = 40
        settings.imageSize = 16
        settings.headEpochs = 2
        settings.fullEpochs = 1
        settings.baseEpochs = 1
        settings.threads = 1
        let experiment = UpsamplingExperiment(settings: settings)
        let results = try experiment.run()
        #expect(results.conditions.count == 8, "head/full × ×1/×U × deselections alone/with corrections")
        let bases = Set(results.conditions.map { results.test[$0]![0][0] })
        #expect(bases.count == 1, "every condition starts from the same base model")
        for condition in results.conditions {
            #expect(results.test[condition]!.map(\.count) == [2])
            #expect(results.boundary[condition]!.allSatisfy { $0.allSatisfy { (0...1).contains($0) } })
        }
        let table = results.markdown(rounds: 1)
        #expect(table.split(separator: "\n").count == 2 + 8 * 2)
        #expect(table.contains("| head ×4 | boundary |") && table.contains("| full ×1 + corrections | test |"))
        #expect(experiment.conditions.filter(\.corrections).count == 4)
        let corrected = (0..<1000).filter(experiment.corrects).count
        #expect(abs(corrected - 500) < 60, "about half the deselected images are corrected: \(corrected)")
    }
}
