import Foundation

/// A fixed set of dedicated threads for CPU-bound work (image decoding, model loading).
///
/// Swift's cooperative pool and NIO's event loops must never block on a decode: the first starves
/// every other task, the second stalls network I/O for every connection. Async callers hand work
/// here and suspend until a worker has run it. The threads start with the first job and exit
/// after `shutdown()` once the queue is drained.
public final class WorkerPool: @unchecked Sendable {
    public let name: String
    public let workers: Int
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var jobs: [() -> Void] = []
    private var head = 0
    private var started = false
    private var closed = false

    public init(name: String, workers: Int) {
        precondition(workers >= 1, "a worker pool needs at least one thread")
        self.name = name
        self.workers = workers
    }

    deinit { shutdown() }

    /// Runs `body` on a worker thread and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = submit {
                continuation.resume(with: Result { try body() })
            }
            if !accepted { continuation.resume(throwing: ServingError.shuttingDown) }
        }
    }

    /// Stops taking jobs; queued ones still run.
    public func shutdown() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Queues `job` without waiting for it; false once shut down.
    @discardableResult
    public func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        if !started {
            started = true
            for index in 0..<workers {
                let threadName = "\(name)-\(index)"
                let thread = Thread { [self] in
                    Self.nameCurrentThread(threadName)
                    self.work()
                }
                thread.start()
            }
        }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Names the calling thread for `top -H`, `ps -L` and /proc, so an operator sees which threads
    /// decode and which batch: Foundation passes a name to the kernel only when a thread names
    /// itself, and the kernel keeps 15 bytes, so "boundary-" goes.
    static func nameCurrentThread(_ name: String) {
        let short = name.hasPrefix("boundary-") ? String(name.dropFirst("boundary-".count)) : name
        Thread.current.name = String(decoding: short.utf8.prefix(15), as: UTF8.self)
    }

    private func work() {
        while let job = next() { job() }
    }

    private func next() -> (() -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count {
            if closed { return nil }
            condition.wait()
        }
        let job = jobs[head]
        // Drop the queue's reference now: a job's captures (a model snapshot, an image) must not
        // outlive the job until the next compaction.
        jobs[head] = {}
        head += 1
        if head > 64, head * 2 > jobs.count {  // Compact the consumed prefix now and then.
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }
}
