import CKernels
import Dispatch
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
/// Every helper acknowledges every job, so a slow helper can never read the next job's fields.
final class WorkerCrew: @unchecked Sendable {
    let helpers: Int
    /// How long an idle helper spins before parking.
    static let spin: Duration = .microseconds(200)

    private let generation = Atomic<Int>(0)
    private let acknowledged = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    // Written by the caller before `generation` is bumped (release), read by helpers after they
    // observe the bump (acquire).
    private var task: ((Int) -> Void)?
    private var parts = 0
    private var stopping = false
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeup = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var sleepers = 0
    private var handles: [pthread_t] = []

    init(helpers: Int) {
        precondition(helpers >= 1, "a crew needs at least one helper")
        self.helpers = helpers
        check(pthread_mutex_init(mutex, nil), "pthread_mutex_init")
        check(pthread_cond_init(wakeup, nil), "pthread_cond_init")
        for index in 1...helpers {
            // The crew outlives its threads (`stop` joins them), so they hold it unretained.
            let context = Unmanaged.passRetained(HelperContext(crew: Unmanaged.passUnretained(self), index: index))
            var handle = pthread_t()
            check(pthread_create(&handle, nil, { raw in
                let context = Unmanaged<HelperContext>.fromOpaque(raw!).takeRetainedValue()
                context.crew.takeUnretainedValue().helperLoop(index: context.index)
                return nil
            }, context.toOpaque()), "pthread_create")
            handles.append(handle)
        }
    }

    /// Joins the helpers; the owner calls this before releasing the crew.
    func stop() {
        lock()
        stopping = true
        generation.add(1, ordering: .releasing)
        check(pthread_cond_broadcast(wakeup), "pthread_cond_broadcast")
        unlock()
        for handle in handles { check(pthread_join(handle, nil), "pthread_join") }
        handles = []
        pthread_cond_destroy(wakeup)
        pthread_mutex_destroy(mutex)
        wakeup.deallocate()
        mutex.deallocate()
    }

    /// Runs `work(part)` for `part` in 0..<parts (parts ≤ helpers + 1), part 0 on the calling thread.
    /// Returns false without running anything when another job is in flight on this crew (a nested
    /// or concurrent call); the caller then uses another way to run it.
    func run(parts: Int, _ work: (Int) -> Void) -> Bool {
        precondition(parts >= 1 && parts <= helpers + 1, "a crew of \(helpers) helpers cannot run \(parts) parts")
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(work) { work in
            task = work
            self.parts = parts
            acknowledged.store(0, ordering: .relaxed)
            generation.add(1, ordering: .releasing)
            lock()
            if sleepers > 0 { check(pthread_cond_broadcast(wakeup), "pthread_cond_broadcast") }
            unlock()
            work(0)
            var spins = 0
            while acknowledged.load(ordering: .acquiring) < helpers {
                spins += 1
                if spins < 4096 { bk_cpu_relax() } else { sched_yield() }
            }
            task = nil
        }
        return true
    }

    private func helperLoop(index: Int) {
        var seen = 0
        while true {
            var current = generation.load(ordering: .acquiring)
            if current == seen {
                let deadline = ContinuousClock.now + Self.spin
                while current == seen {
                    for _ in 0..<64 { bk_cpu_relax() }
                    current = generation.load(ordering: .acquiring)
                    if current == seen && ContinuousClock.now >= deadline { break }
                }
                if current == seen {
                    lock()
                    sleepers += 1
                    while generation.load(ordering: .acquiring) == seen && !stopping {
                        check(pthread_cond_wait(wakeup, mutex), "pthread_cond_wait")
                    }
                    sleepers -= 1
                    unlock()
                    current = generation.load(ordering: .acquiring)
                }
            }
            if stopping { return }
            seen = current
            if index < parts, let task { task(index) }
            acknowledged.add(1, ordering: .releasing)
        }
    }

    private func lock() { check(pthread_mutex_lock(mutex), "pthread_mutex_lock") }
    private func unlock() { check(pthread_mutex_unlock(mutex), "pthread_mutex_unlock") }

    private func check(_ status: Int32, _ call: String) {
        precondition(status == 0, "\(call) failed with \(status)")
    }
}

private final class HelperContext {
    let crew: Unmanaged<WorkerCrew>
    let index: Int
    init(crew: Unmanaged<WorkerCrew>, index: Int) {
        self.crew = crew
        self.index = index
    }
}
