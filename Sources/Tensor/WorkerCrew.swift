import CKernels
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `helpers` persistent threads that run fork/join jobs together with the calling thread.
///
/// A model runs one fork/join per layer, a few hundred microseconds each at batch 1; waking parked
/// threads for every one of them (what `DispatchQueue.concurrentPerform` does) costs more than the
/// work. Helpers therefore spin for `spin` after each job, so the next layer starts at once, and
/// park on a condition variable only when the crew has been idle that long (between requests).
///
/// Parts are claimed, not assigned: the caller runs part 0 and then claims whatever parts no helper
/// has taken yet. A helper that is slow to wake (a parked thread on a virtual CPU can take
/// milliseconds) therefore never holds the job up; the caller waits only for parts a helper has
/// actually started. A part's index is its worker index, so per-worker scratch stays exclusive.
final class WorkerCrew: @unchecked Sendable {
    let helpers: Int
    /// How long an idle helper spins before parking.
    static let spin: Duration = .microseconds(50)

    /// generation << 32 | parts << 16 | next unclaimed part: one word, so a claim (a CAS) can only
    /// succeed for the job that is current.
    private let state = Atomic<UInt64>(0)
    /// The current job (an unretained `Job`); read only after a successful claim, which keeps the
    /// job's caller waiting and so the job alive.
    private let job = Atomic<UInt>(0)
    /// Parts 1…parts−1 finished, by helpers or the caller.
    private let completed = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeup = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var sleepers = 0
    private var stopping = false
    private var handles: [pthread_t] = []

    private final class Job {
        let task: (Int) -> Void
        init(_ task: @escaping (Int) -> Void) { self.task = task }
    }

    init(helpers: Int) {
        precondition(helpers >= 1, "a crew needs at least one helper")
        self.helpers = helpers
        check(pthread_mutex_init(mutex, nil), "pthread_mutex_init")
        check(pthread_cond_init(wakeup, nil), "pthread_cond_init")
        for _ in 0..<helpers {
            // The crew outlives its threads (`stop` joins them), so they hold it unretained.
            let context = Unmanaged.passUnretained(self).toOpaque()
            var handle = pthread_t()
            check(pthread_create(&handle, nil, { raw in
                Unmanaged<WorkerCrew>.fromOpaque(raw!).takeUnretainedValue().helperLoop()
                return nil
            }, context), "pthread_create")
            handles.append(handle)
        }
    }

    /// Joins the helpers; the owner calls this before releasing the crew.
    func stop() {
        lock()
        stopping = true
        state.add(1 << 32, ordering: .sequentiallyConsistent)
        check(pthread_cond_broadcast(wakeup), "pthread_cond_broadcast")
        unlock()
        for handle in handles { check(pthread_join(handle, nil), "pthread_join") }
        handles = []
        pthread_cond_destroy(wakeup)
        pthread_mutex_destroy(mutex)
        wakeup.deallocate()
        mutex.deallocate()
    }

    /// Runs `work(part)` for every part in 0..<parts, part 0 on the calling thread, and returns when
    /// all are done. Returns false without running anything when another job is in flight on this
    /// crew (a nested or concurrent call); the caller then uses another way to run it.
    func run(parts: Int, _ work: (Int) -> Void) -> Bool {
        precondition(parts >= 1 && parts < 1 << 16, "a crew cannot run \(parts) parts")
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(work) { work in
            let current = Job(work)
            completed.store(0, ordering: .relaxed)
            job.store(UInt(bitPattern: Unmanaged.passUnretained(current).toOpaque()), ordering: .releasing)
            let generation = (state.load(ordering: .relaxed) >> 32) &+ 1
            state.store(generation << 32 | UInt64(parts) << 16 | 1, ordering: .sequentiallyConsistent)
            lock()
            if sleepers > 0 { check(pthread_cond_broadcast(wakeup), "pthread_cond_broadcast") }
            unlock()
            work(0)
            while let part = claim(generation: generation) {
                work(part)
                completed.add(1, ordering: .releasing)
            }
            var spins = 0
            while completed.load(ordering: .acquiring) < parts - 1 {
                spins += 1
                if spins < 4096 { bk_cpu_relax() } else { sched_yield() }
            }
            // Keep `current` alive until every claimed part has finished with it.
            withExtendedLifetime(current) {}
        }
        return true
    }

    /// Takes the next unclaimed part of job `generation`, or nil when there is none (or the job is
    /// no longer current).
    private func claim(generation: UInt64) -> Int? {
        var word = state.load(ordering: .acquiring)
        while true {
            let parts = (word >> 16) & 0xFFFF, next = word & 0xFFFF
            guard word >> 32 == generation, next < parts else { return nil }
            let (exchanged, original) = state.compareExchange(expected: word, desired: word + 1, ordering: .acquiringAndReleasing)
            if exchanged { return Int(next) }
            word = original
        }
    }

    private func helperLoop() {
        var seen = state.load(ordering: .acquiring) >> 32
        while true {
            var generation = state.load(ordering: .acquiring) >> 32
            if generation == seen {
                let deadline = ContinuousClock.now + Self.spin
                while generation == seen {
                    for _ in 0..<64 { bk_cpu_relax() }
                    generation = state.load(ordering: .acquiring) >> 32
                    if generation == seen && ContinuousClock.now >= deadline { break }
                }
                if generation == seen {
                    lock()
                    sleepers += 1
                    while state.load(ordering: .sequentiallyConsistent) >> 32 == seen && !stopping {
                        check(pthread_cond_wait(wakeup, mutex), "pthread_cond_wait")
                    }
                    sleepers -= 1
                    let done = stopping
                    unlock()
                    if done { return }
                    generation = state.load(ordering: .acquiring) >> 32
                }
            }
            seen = generation
            while let part = claim(generation: generation) {
                // A successful claim holds the job's caller, so the job is still the published one.
                let current = Unmanaged<Job>.fromOpaque(UnsafeRawPointer(bitPattern: job.load(ordering: .acquiring))!)
                current.takeUnretainedValue().task(part)
                completed.add(1, ordering: .releasing)
            }
            if isStopping() { return }
        }
    }

    private func isStopping() -> Bool {
        lock()
        defer { unlock() }
        return stopping
    }

    private func lock() { check(pthread_mutex_lock(mutex), "pthread_mutex_lock") }
    private func unlock() { check(pthread_mutex_unlock(mutex), "pthread_mutex_unlock") }

    private func check(_ status: Int32, _ call: String) {
        precondition(status == 0, "\(call) failed with \(status)")
    }
}
