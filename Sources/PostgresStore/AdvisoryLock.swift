import PostgresNIO

/// The transaction-scoped advisory locks the store takes, named by what each guards. Every process
/// sharing the database derives the same key from the same case, so replicas of different builds
/// still exclude each other (the keys are the strings earlier builds used).
enum AdvisoryLock: Equatable {
    /// Stored image bytes: intake and embedding writes hold it shared, retention exclusively, so
    /// an image is never purged between an intake's "is it stored?" check and its commit.
    case images
    /// One model's intake, so duplicate checks, quotas and the held-out cap see every replica's
    /// events.
    case record(model: String)
    /// One word's marks on one model.
    case marks(model: String, word: String)
    /// One marking request's idempotency key on one model.
    case markKey(model: String, key: String)

    var key: String {
        switch self {
        case .images: "boundary.images"
        case .record(let model): "boundary.record/\(model)"
        case .marks(let model, let word): "boundary.marks/\(model)/\(word)"
        case .markKey(let model, let key): "boundary.mark-keys/\(model)/\(key)"
        }
    }
}

extension Session {
    /// Takes `lock` until the transaction ends; `shared` locks only exclude exclusive holders.
    func lock(_ lock: AdvisoryLock, shared: Bool = false) throws {
        if shared {
            try query("SELECT pg_advisory_xact_lock_shared(hashtextextended(\(lock.key), 0))")
        } else {
            try query("SELECT pg_advisory_xact_lock(hashtextextended(\(lock.key), 0))")
        }
    }
}
