import Foundation
import Synchronization

/// This process's resident memory, from `/proc/self/status` (VmRSS), in bytes.
enum ResidentMemory {
    static func current() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return 0 }
        return kilobytes * 1024
    }

    /// Samples the resident memory every 10 ms until stopped and returns the highest reading.
    final class PeakSampler: Sendable {
        private let peak = Mutex(ResidentMemory.current())
        private let task = Mutex<Task<Void, Never>?>(nil)

        init() {
            let sampling = Task.detached { [self] in
                while !Task.isCancelled {
                    let now = ResidentMemory.current()
                    peak.withLock { $0 = max($0, now) }
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
            task.withLock { $0 = sampling }
        }

        func stop() async -> Int {
            let running = task.withLock { $0 }
            running?.cancel()
            await running?.value
            return peak.withLock { $0 }
        }
    }
}
