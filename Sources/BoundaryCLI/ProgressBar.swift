import Foundation
import Training

/// Training progress for people: a redrawn bar with ETA on a terminal, one plain line per epoch
/// when the output is a file or a pipe (CI logs stay readable).
final class ProgressBar {
    private let interactive = isatty(STDOUT_FILENO) == 1
    private var lastDraw = 0.0

    func update(_ p: TrainingProgress) {
        if let record = p.finished {
            if interactive { print("\r\u{1B}[2K", terminator: "") }
            var line = "epoch \(p.epoch)/\(p.epochs)  loss \(fmt(record.trainLoss, 4))  acc \(pct(record.trainAccuracy))"
            if let vl = record.valLoss, let va = record.valAccuracy { line += "  val_loss \(fmt(vl, 4))  val_acc \(pct(va))" }
            line += "  lr \(String(format: "%.2e", record.learningRate))  \(fmt(record.seconds, 1))s"
            print(line)
            fflush(nil)
            return
        }
        guard interactive, p.elapsed - lastDraw > 0.1 || p.step == p.stepsPerEpoch else { return }
        lastDraw = p.elapsed
        let done = Double((p.epoch - 1) * p.stepsPerEpoch + p.step)
        let total = Double(p.epochs * p.stepsPerEpoch)
        let eta = done > 0 ? p.elapsed / done * (total - done) : 0
        let width = 24, filled = Int(Double(width) * Double(p.step) / Double(max(p.stepsPerEpoch, 1)))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        print("\r\u{1B}[2Kepoch \(p.epoch)/\(p.epochs) \(bar) \(p.step)/\(p.stepsPerEpoch)  loss \(fmt(p.runningLoss, 4))  acc \(pct(p.runningAccuracy))  ETA \(clock(eta))",
              terminator: "")
        fflush(nil)
    }

    private func fmt(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
    private func pct(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
    private func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
