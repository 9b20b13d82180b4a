import Dispatch

/// A bounded set of workers for CPU-bound kernels.
///
/// The engine never assumes it owns the machine: each model or trainer gets a pool of `threads`
/// workers, and OpenBLAS itself stays single-threaded inside each worker's sgemm, so the total number
/// of busy cores is exactly the knob. Work is split into at most `threads` contiguous ranges, one
/// per worker, so each worker can index its own scratch buffer by its worker number. The calling
/// thread is worker 0; the others are a `WorkerCrew` of persistent threads that stay hot between the
/// layers of one forward pass.
public final class ComputePool: Sendable {
    public let threads: Int
    private let crew: WorkerCrew?

    public init(threads: Int) {
        precondition(threads >= 1, "ComputePool needs at least one thread, got \(threads)")
        self.threads = threads
        crew = threads > 1 ? WorkerCrew(helpers: threads - 1) : nil
    }

    deinit { crew?.stop() }

    /// Runs `body(worker, range)` over `0..<count` split into at most `threads` near-equal ranges.
    /// Ranges are aligned to `granularity` so a worker never splits an indivisible unit.
    public func forEachRange(
        _ count: Int, granularity: Int = 1,
        _ body: (_ worker: Int, _ range: Range<Int>) -> Void
    ) {
        guard count > 0 else { return }
        let units = (count + granularity - 1) / granularity
        let parts = min(threads, units)
        if parts == 1 { body(0, 0..<count); return }
        let run = { (part: Int) in
            let lo = min(count, (units * part / parts) * granularity)
            let hi = min(count, (units * (part + 1) / parts) * granularity)
            if lo < hi { body(part, lo..<hi) }
        }
        if let crew, crew.run(parts: parts, run) { return }
        // The crew is busy (a nested or concurrent call on this pool): fall back to Dispatch.
        // concurrentPerform wants a @Sendable closure; `run` is synchronous and outlives the call,
        // and every worker gets a disjoint range, so handing it across is sound.
        withoutActuallyEscaping(run) { run in
            let shared = UncheckedSendable(run)
            DispatchQueue.concurrentPerform(iterations: parts) { shared.value($0) }
        }
    }

    /// Runs `body(worker, index)` for every index, each worker taking a contiguous share.
    public func forEach(_ count: Int, _ body: (_ worker: Int, _ index: Int) -> Void) {
        forEachRange(count) { worker, range in
            for index in range { body(worker, index) }
        }
    }
}

/// Carries a value the compiler cannot prove Sendable across a synchronous fork/join boundary.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
