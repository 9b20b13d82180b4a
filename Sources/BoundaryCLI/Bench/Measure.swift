import Dispatch
import Glibc

/// Timing helpers for the benchmarks: warm up, then repeat until a time budget is spent and report
/// the median of several timed rounds, which is robust to the other tenants of a shared machine.
enum Measure {
    /// When set, time is this process's CPU time rather than wall time: on a shared machine a
    /// single-threaded figure then excludes the time other tenants held the core.
    nonisolated(unsafe) static var useProcessCPUTime = false

    static func now() -> Double {
        if useProcessCPUTime {
            var ts = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
        return Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }

    /// Seconds per call of `body`, the median over `rounds` rounds of at least `minimumSeconds` each.
    static func secondsPerCall(rounds: Int = 5, minimumSeconds: Double = 0.25, _ body: () -> Void) -> Double {
        body()  // warm-up: first-touch page faults, lazy buffers, OpenBLAS thread start
        var samples: [Double] = []
        for _ in 0..<rounds {
            var calls = 0
            let start = now()
            var elapsed = 0.0
            repeat {
                body()
                calls += 1
                elapsed = now() - start
            } while elapsed < minimumSeconds
            samples.append(elapsed / Double(calls))
        }
        return samples.sorted()[samples.count / 2]
    }

    /// Wall seconds of each of `calls` back-to-back calls of `body` (after one untimed call), sorted.
    static func latencies(calls: Int, _ body: () -> Void) -> [Double] {
        body()
        var samples: [Double] = []
        samples.reserveCapacity(calls)
        for _ in 0..<calls {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return samples.sorted()
    }

    /// Wall seconds of each of `calls` calls of `body`, each after the thread slept `idle`: the
    /// latency a lightly loaded server sees (caches cooled, worker threads parked), sorted.
    static func latenciesAfterIdle(calls: Int, idle: Duration, _ body: () -> Void) -> [Double] {
        body()
        var samples: [Double] = []
        for _ in 0..<calls {
            usleep(UInt32(idle.components.seconds * 1_000_000 + idle.components.attoseconds / 1_000_000_000_000))
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return samples.sorted()
    }
}

/// Prints one figure per line, `NAME: VALUE UNIT`, as BENCHMARKS.md records them.
func report(_ name: String, _ value: Double, _ unit: String, digits: Int = 1) {
    print("\(name): \(formatted(value, digits: digits)) \(unit)")
}

func formatted(_ value: Double, digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return digits == 0 ? String(Int(rounded)) : String(rounded)
}
