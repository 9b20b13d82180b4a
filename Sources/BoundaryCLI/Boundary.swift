import ArgumentParser
import BLAS

@main
struct Boundary: AsyncParsableCommand {
    static func main() async {
        // Before any work: OpenBLAS fixed its kernels when it loaded, so a wrong choice needs a re-exec.
        OpenBLASCore.steerBeforeWork()
        await main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "boundary",
        abstract: "Serve a CNN image classifier and keep improving it from user feedback.",
        subcommands: [ServeCommand.self, PredictCommand.self, IngestCommand.self, ModelsCommand.self, FeedbackCommand.self, QueueCommand.self, QuarantineCommand.self,
                      ReviewCommand.self, SearchCommand.self, SimilarCommand.self,
                      RetrainCommand.self,
                      DemoDataCommand.self, TrainCommand.self, ImportCommand.self, ExportONNXCommand.self,
                      EvalCommand.self, ReportCommand.self, ExperimentCommand.self, Bench.self]
    )
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Release-build benchmarks; each figure is printed as `NAME: VALUE UNIT`.",
        subcommands: [EngineBench.self, ImagingBench.self, TrainingBench.self, FeedbackBench.self, ReviewBench.self, SearchBench.self,
                      SearchRebuildBench.self, SearchAPIBench.self, TSNEBench.self, ExplainBench.self, ModelBench.self]
    )
}
