import Foundation
import Reports
import Serving
import Synchronization

/// t-SNE layouts of the review map. Unlike PCA, t-SNE places only the points it was fitted on and
/// takes seconds (about 12 s for 5,000 points on one core), so it never runs on the request path:
/// a listing that asks for it gets the last layout (or none) and `pending` while a new one is
/// computed on this class's own thread, one at a time.
final class ReviewTSNEMaps: Sendable {
    struct Layout: Sendable {
        let positions: [String: (x: Float, y: Float)]
        let fittedOn: Int
        let fittedAt: Date
    }

    struct Key: Hashable, Sendable { var model: String; var backbone: Int }

    /// Points a layout is fitted on at most: the newest ones.
    static let maxPoints = 5000

    private let state = Mutex<(layouts: [Key: Layout], computing: Set<Key>)>(([:], []))
    private let worker = WorkerPool(name: "boundary-review-tsne", workers: 1)
    private let threads: Int

    /// `threads`: cores one layout may use; one by default, so a map never slows serving much.
    init(threads: Int = 1) { self.threads = threads }

    func shutdown() { worker.shutdown() }

    /// The layout to draw for `key`, and whether a newer one is due; starts computing it when due
    /// and none is running. A layout is due when none exists, the images under the backbone moved
    /// by more than a tenth since it was fitted, or it is older than the PCA map's lifetime.
    func layout(for key: Key, candidates: [RecentImages.Candidate]) -> (layout: Layout?, pending: Bool) {
        let embedded = candidates.filter { $0.embedding?.backbone == key.backbone }
        let current = state.withLock { $0.layouts[key] }
        let due = current.map { ReviewCatalog.needsRefit(fittedOn: $0.fittedOn, at: $0.fittedAt, now: embedded.count) }
            ?? !embedded.isEmpty
        guard due else { return (current, false) }
        // Claim the computation under the lock, so two listings never start the same one.
        let starts = state.withLock { state -> Bool in
            // A new backbone's layout replaces the old ones of the model: no listing asks for them again.
            for old in state.layouts.keys where old.model == key.model && old.backbone != key.backbone { state.layouts[old] = nil }
            return state.computing.insert(key).inserted
        }
        if starts {
            let newest = embedded.sorted { $0.seen.sequence > $1.seen.sequence }.prefix(Self.maxPoints)
            let ids = newest.map(\.imageID), vectors = newest.map { $0.embedding!.vector }
            let threads = threads
            let submitted = worker.submit { [self] in
                var configuration = TSNEConfiguration()
                configuration.threads = threads
                configuration.seed = 0
                let result = TSNE.embed(vectors, configuration: configuration)
                var positions: [String: (x: Float, y: Float)] = [:]
                for (id, point) in zip(ids, result.positions) where point.count == 2 { positions[id] = (point[0], point[1]) }
                let layout = Layout(positions: positions, fittedOn: embedded.count, fittedAt: Date())
                state.withLock {
                    $0.layouts[key] = layout
                    $0.computing.remove(key)
                }
            }
            if !submitted { state.withLock { _ = $0.computing.remove(key) } }
        }
        return (current, true)
    }
}
