import ArgumentParser
import Imaging

/// `boundary bench imaging`: decode + preprocess to 3×64×64 on one thread.
struct ImagingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imaging",
        abstract: "JPEG and PNG decode + preprocess to 3x64x64, images/s on one thread."
    )

    @Option(help: "Seconds per case.")
    var seconds: Double = 2

    @Flag(help: "Also print a decode-only breakdown (DCT-scaled vs full decode, resize).")
    var profile = false

    func run() throws {
        #if DEBUG
        print("warning: debug build; benchmark figures are only meaningful with `swift run -c release`")
        #endif
        for figure in ImagingBenchmark.run(seconds: seconds) {
            report(figure.name, figure.value, figure.unit, digits: 0)
        }
        if profile {
            for figure in ImagingBenchmark.profile(seconds: seconds) {
                report(figure.name, figure.value, figure.unit, digits: 0)
            }
        }
    }
}
