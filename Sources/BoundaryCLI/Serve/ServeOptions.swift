import ArgumentParser
import BoundaryServer
import DefaultModel
import Foundation
import ImageSearch
import PostgresStore
import Retraining
import Serving

/// `boundary serve` settings: every flag also reads an environment variable, so a container or a
/// systemd unit can configure the server without a command line. Flags win over the environment.
struct ServeOptions: ParsableArguments {
    @Option(help: "Address to listen on (env BOUNDARY_HOST; default 127.0.0.1).") var host: String?
    @Option(help: "gRPC port, 0 for any free one (env BOUNDARY_PORT; default 50051).") var port: Int?
    @Option(help: "Data directory holding the model registry (env BOUNDARY_DATA_DIR; default ./boundary-data).")
    var dataDir: String?
    @Option(help: ArgumentHelp("Seed NAME=MODEL_DIR: registered as version 1 when the registry has no NAME (repeatable). "
                               + "Default: the built-in demo model as scene-s.", valueName: "name=dir"))
    var model: [String] = []
    @Option(help: "Model used when a request names none (env BOUNDARY_DEFAULT_MODEL).") var defaultModel: String?

    @Option(help: "Bearer tokens file, lines 'ROLE[,ROLE]:TOKEN' (env BOUNDARY_TOKENS_FILE; or the tokens themselves in BOUNDARY_TOKENS).")
    var tokensFile: String?
    @Flag(help: "Let callers without a token predict (env BOUNDARY_OPEN_PREDICT=1).") var openPredict = false
    @Flag(help: "Allow listening on a non-loopback address without tokens.") var allowUnauthenticated = false
    @Option(help: "TLS certificate chain, PEM (env BOUNDARY_TLS_CERT).") var tlsCert: String?
    @Option(help: "TLS private key, PEM (env BOUNDARY_TLS_KEY).") var tlsKey: String?

    @Option(help: "Most requests per forward pass (env BOUNDARY_MAX_BATCH_SIZE; default 32).") var maxBatchSize: Int?
    @Option(help: "Longest wait for a batch to fill, ms (env BOUNDARY_MAX_BATCH_DELAY_MS; default 2).") var maxBatchDelayMs: Double?
    @Option(help: "Requests in flight before new ones get RESOURCE_EXHAUSTED (env BOUNDARY_QUEUE_LIMIT; default 256).")
    var queueLimit: Int?
    @Option(help: "Threads per forward pass (env BOUNDARY_THREADS; default: all cores).") var threads: Int?
    @Option(help: "Image decoding threads; where batching does not pay, each also runs its requests' forward passes on one core (env BOUNDARY_DECODE_WORKERS; default: all cores).")
    var decodeWorkers: Int?
    @Option(help: ArgumentHelp("Batch requests under load: auto (unless a version's load-time probe finds batches no cheaper per image and a one-core pass within --max-batch-delay-ms), "
                               + "always, or never (each request runs alone on its decode worker) (env BOUNDARY_BATCHING; default auto).",
                               valueName: "auto|always|never"))
    var batching: BatchingPolicy?
    @Option(help: "Largest image accepted, MiB (env BOUNDARY_MAX_REQUEST_MB; default 16).") var maxRequestMb: Int?
    @Option(help: "Margin below which a prediction is flagged as a boundary case (default 0.2).") var boundaryThreshold: Float?
    @Option(help: "Registry poll interval, ms (default 1000).") var pollIntervalMs: Int?
    @Option(help: ArgumentHelp("MiB of request bodies held at once; beyond it requests get RESOURCE_EXHAUSTED before "
                               + "their bodies are read (env BOUNDARY_MAX_INFLIGHT_MB; default: an eighth of memory, at most 2048)."))
    var maxInflightMb: Int?

    @Option(help: "Retrain on a schedule, e.g. 30m, 1h, 1d (env BOUNDARY_RETRAIN_EVERY; default: only on request).")
    var retrainEvery: String?
    @Option(help: "Scheduled retrains wait for this many pending samples (default 50).") var retrainMinSamples: Int = 50
    @Option(help: "Scheduled retrain mode: head or full (default head).") var retrainMode: String = "head"
    @Option(help: "Cores a retrain may use (default 1; serving keeps the rest).") var retrainThreads: Int = 1
    @Option(help: "MiB of recently predicted images kept so feedback can name them by id (default 256).")
    var rememberMb: Int = 256
    @Option(help: "Image references one SubmitFeedback may carry (default 1000).") var feedbackMaxRefs: Int = 1000
    @Option(help: "Feedback samples one user may add per hour, 0 for no limit (default 5000).") var feedbackQuotaPerHour: Int = 5000
    @Option(help: "Held-out (evaluation) feedback samples per label at most, 0 for no cap (default 500); later images of a full label are trained on.")
    var maxHeldOutPerLabel: Int = IntakePolicy.defaultMaxHeldOutPerLabel
    @Option(help: "GiB of feedback image bytes kept (default 10); older images no open sample needs go first.")
    var feedbackStoreGb: Double = 10
    @Option(help: "Days feedback images are kept (default 180) unless an open, held-out or quarantined sample needs them.")
    var feedbackRetentionDays: Double = 180
    @Option(help: "Images the search index keeps per model, oldest dropped first (default 1000000; about 4·E+200 bytes of memory each).")
    var searchMaxImages: Int = 1_000_000
    @Option(help: "Learned search words: Rocchio weights ALPHA,BETA,GAMMA for example, relevant and not-relevant marks (default 1,1,1).")
    var searchRocchio: String = "1,1,1"

    @Option(help: "HTTP/JSON API, review web app and /metrics port, 0 to turn HTTP off (env BOUNDARY_HTTP_PORT; default 8080).")
    var httpPort: Int?
    @Option(help: "Address of the HTTP port, plaintext: keep it on loopback or behind a TLS proxy (env BOUNDARY_HTTP_HOST; default 127.0.0.1).")
    var httpHost: String?
    @Option(help: "Prometheus /metrics alone on this port too, 0 for any free one (env BOUNDARY_METRICS_PORT; default 9464).") var metricsPort: Int?
    @Flag(help: "Do not serve /metrics (on either port).") var noMetrics = false
    @Option(help: ArgumentHelp("Feedback store shared by several processes: postgres://USER@HOST[:PORT]/DATABASE[?sslmode=…&pool=N], "
                               + "password in the URL or PGPASSWORD (env BOUNDARY_STORE; default: SQLite in the data directory)."))
    var store: String?
    @Option(help: ArgumentHelp("This process's part: all; serve (predicts, takes feedback, never retrains); or train (the one "
                               + "process that retrains, schedules and prunes). serve and train need a PostgreSQL --store "
                               + "(env BOUNDARY_ROLE; default all)."))
    var role: String?
    @Option(help: ArgumentHelp("With --role serve: the trainer's gRPC address HOST:PORT; Retrain and WatchRetrain sent here run "
                               + "there (env BOUNDARY_TRAINER; plaintext, with BOUNDARY_TRAINER_TOKEN, an admin token)."))
    var trainer: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error (env BOUNDARY_LOG_LEVEL; default info).")
    var logLevel: String?

    private static let environment = ProcessInfo.processInfo.environment

    private func env(_ name: String) -> String? { Self.environment[name].flatMap { $0.isEmpty ? nil : $0 } }

    private func number<T: LosslessStringConvertible>(_ flag: T?, _ variable: String, _ fallback: T) throws -> T {
        if let flag { return flag }
        guard let text = env(variable) else { return fallback }
        guard let value = T(text) else { throw ValidationError("\(variable)='\(text)' is not a valid number") }
        return value
    }

    func resolvedBatching() throws -> BatchingPolicy {
        if let batching { return batching }
        guard let text = env("BOUNDARY_BATCHING") else { return .auto }
        guard let policy = BatchingPolicy(rawValue: text) else {
            throw ValidationError("BOUNDARY_BATCHING='\(text)' must be one of auto, always, never")
        }
        return policy
    }

    var resolvedHost: String { host ?? env("BOUNDARY_HOST") ?? "127.0.0.1" }
    func resolvedPort() throws -> Int { try number(port, "BOUNDARY_PORT", 50051) }
    func resolvedMetricsPort() throws -> Int { try number(metricsPort, "BOUNDARY_METRICS_PORT", 9464) }
    func resolvedHTTPPort() throws -> Int { try number(httpPort, "BOUNDARY_HTTP_PORT", 8080) }
    var resolvedHTTPHost: String { httpHost ?? env("BOUNDARY_HTTP_HOST") ?? "127.0.0.1" }
    var resolvedDataDirectory: URL { URL(fileURLWithPath: dataDir ?? env("BOUNDARY_DATA_DIR") ?? "boundary-data") }
    var resolvedLogLevel: String { logLevel ?? env("BOUNDARY_LOG_LEVEL") ?? "info" }

    func resolvedRole() throws -> ProcessRole {
        let text = role ?? env("BOUNDARY_ROLE") ?? "all"
        guard let role = ProcessRole(rawValue: text) else { throw ValidationError("--role '\(text)' must be all, serve or train") }
        return role
    }

    /// The PostgreSQL store's location, nil for the embedded SQLite store.
    func resolvedStore() throws -> PostgresLocation? {
        guard let url = store ?? env("BOUNDARY_STORE") else { return nil }
        do { return try PostgresLocation(url: url) } catch { throw ValidationError("\(error)") }
    }
    var resolvedTLS: (cert: String, key: String)? {
        guard let cert = tlsCert ?? env("BOUNDARY_TLS_CERT"), let key = tlsKey ?? env("BOUNDARY_TLS_KEY") else { return nil }
        return (cert, key)
    }

    func seeds() throws -> [BoundaryServerConfiguration.SeedModel] {
        if model.isEmpty {
            return DefaultModel.directory.map { [.init(name: DefaultModel.name, directory: $0)] } ?? []
        }
        return try model.map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--model expects NAME=MODEL_DIR, got '\(entry)'")
            }
            return .init(name: parts[0], directory: URL(fileURLWithPath: parts[1]))
        }
    }

    func tokens() throws -> AccessTokens? {
        if let path = tokensFile ?? env("BOUNDARY_TOKENS_FILE") { return try AccessTokens.load(contentsOfFile: path) }
        return try AccessTokens.fromEnvironment("BOUNDARY_TOKENS")
    }

    func configuration() throws -> BoundaryServerConfiguration {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let serving = ServingConfiguration(
            maxBatchSize: try number(maxBatchSize, "BOUNDARY_MAX_BATCH_SIZE", 32),
            maxBatchDelay: .microseconds(Int64(try number(maxBatchDelayMs, "BOUNDARY_MAX_BATCH_DELAY_MS", 2.0) * 1000)),
            queueLimit: try number(queueLimit, "BOUNDARY_QUEUE_LIMIT", 256),
            inferenceThreads: try number(threads, "BOUNDARY_THREADS", cores),
            decodeWorkers: try number(decodeWorkers, "BOUNDARY_DECODE_WORKERS", cores),
            batching: try resolvedBatching(),
            boundaryThreshold: boundaryThreshold ?? 0.2,
            defaultModel: defaultModel ?? env("BOUNDARY_DEFAULT_MODEL"))
        try serving.validate()
        let megabytes = try number(maxRequestMb, "BOUNDARY_MAX_REQUEST_MB", 16)
        guard (1...1024).contains(megabytes) else { throw ValidationError("--max-request-mb must be 1...1024") }
        let tokens = try tokens()
        let open = openPredict || env("BOUNDARY_OPEN_PREDICT") == "1"
        var configuration = BoundaryServerConfiguration(
            dataDirectory: resolvedDataDirectory, serving: serving, seedModels: try seeds(), tokens: tokens,
            openRoles: open ? [.predict] : [], registryPollInterval: .milliseconds(pollIntervalMs ?? 1000),
            maxImageBytes: megabytes << 20, retrainThreads: retrainThreads)
        if let text = maxInflightMb.map(String.init) ?? env("BOUNDARY_MAX_INFLIGHT_MB") {
            guard let inflight = Int(text), (1...1 << 20).contains(inflight) else {
                throw ValidationError("--max-inflight-mb must be 1...1048576, got '\(text)'")
            }
            configuration.maxInflightBytes = inflight << 20
        }
        guard configuration.maxInflightBytes >= configuration.maxRequestMessageBytes else {
            throw ValidationError("--max-inflight-mb must hold at least one request of --max-request-mb plus 64 KiB")
        }
        guard (1...256).contains(retrainThreads) else { throw ValidationError("--retrain-threads must be 1...256") }
        guard (0...65536).contains(rememberMb) else { throw ValidationError("--remember-mb must be 0...65536") }
        configuration.recentImageBytes = rememberMb << 20
        guard (1...100_000).contains(feedbackMaxRefs) else { throw ValidationError("--feedback-max-refs must be 1...100000") }
        guard feedbackQuotaPerHour >= 0 else { throw ValidationError("--feedback-quota-per-hour must not be negative") }
        guard maxHeldOutPerLabel >= 0 else { throw ValidationError("--max-held-out-per-label must not be negative") }
        guard (0.001...1_000_000).contains(feedbackStoreGb), (0.001...100_000).contains(feedbackRetentionDays) else {
            throw ValidationError("--feedback-store-gb must be 0.001...1000000 and --feedback-retention-days 0.001...100000")
        }
        configuration.learning.intake = IntakePolicy(
            maxReferences: feedbackMaxRefs, quota: feedbackQuotaPerHour > 0 ? UserQuota(samples: feedbackQuotaPerHour) : nil,
            maxHeldOutPerLabel: maxHeldOutPerLabel > 0 ? maxHeldOutPerLabel : nil)
        configuration.learning.retention = RetentionLimits(maxImageBytes: Int(feedbackStoreGb * Double(1 << 30)),
                                                           maxAge: feedbackRetentionDays * 86_400)
        guard (1...100_000_000).contains(searchMaxImages) else { throw ValidationError("--search-max-images must be 1...100000000") }
        let weights = searchRocchio.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard weights.count == 3, let alpha = weights[0], let beta = weights[1], let gamma = weights[2],
              [alpha, beta, gamma].allSatisfy({ $0 >= 0 && $0.isFinite }), beta > 0 else {
            throw ValidationError("--search-rocchio '\(searchRocchio)' must be three non-negative numbers ALPHA,BETA,GAMMA with BETA > 0")
        }
        configuration.search = SearchConfiguration(rocchio: Rocchio(alpha: alpha, beta: beta, gamma: gamma),
                                                   maxEntriesPerModel: searchMaxImages, maxAge: feedbackRetentionDays * 86_400,
                                                   threads: configuration.serving.inferenceThreads)
        let role = try resolvedRole()
        configuration.learning.role = role
        if let location = try resolvedStore() {
            configuration.openStore = { try PostgresFeedbackStore(location: location, resetInterruptedTraining: role.trains) }
        } else if role != .all {
            throw ValidationError("--role \(role.rawValue) splits one deployment across processes, which must share a store: "
                                  + "give --store postgres://USER@HOST/DATABASE (or BOUNDARY_STORE)")
        }
        if let address = trainer ?? env("BOUNDARY_TRAINER") {
            guard role == .serve else { throw ValidationError("--trainer is for --role serve: the other roles run retrains themselves") }
            let parts = address.split(separator: ":")
            guard parts.count >= 2, let port = Int(parts.last!), (1...65535).contains(port) else {
                throw ValidationError("--trainer '\(address)' must be HOST:PORT")
            }
            configuration.retrainForwarder = TrainerForwarder(host: parts.dropLast().joined(separator: ":"), port: port,
                                                              token: env("BOUNDARY_TRAINER_TOKEN"))
        }
        if let every = retrainEvery ?? env("BOUNDARY_RETRAIN_EVERY") {
            guard let interval = Self.duration(every) else {
                throw ValidationError("--retrain-every '\(every)' is not a duration like 90s, 30m, 1h or 1d")
            }
            guard ["head", "full"].contains(retrainMode) else { throw ValidationError("--retrain-mode must be head or full") }
            guard retrainMinSamples >= 1 else { throw ValidationError("--retrain-min-samples must be at least 1") }
            configuration.learning.schedule = .init(
                interval: interval, minSamples: retrainMinSamples,
                options: RetrainOptions(mode: retrainMode == "full" ? .full(unfreeze: nil) : .head, minNewSamples: retrainMinSamples))
        }
        return configuration
    }

    /// "90s", "30m", "1h", "1d" (a bare number is seconds).
    static func duration(_ text: String) -> Duration? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let last = trimmed.last else { return nil }
        let (digits, unit) = units[last].map { (trimmed.dropLast(), $0) } ?? (Substring(trimmed), 1)
        guard let value = Int64(digits), value > 0 else { return nil }
        return .seconds(value * unit)
    }

    /// Refuses to expose an unauthenticated admin API beyond this machine by accident.
    func checkExposure(tokens: AccessTokens?) throws {
        let loopback = ["127.0.0.1", "::1", "localhost"]
        var exposed = [resolvedHost]
        if try resolvedHTTPPort() != 0 { exposed.append(resolvedHTTPHost) }
        for host in exposed where tokens == nil && !loopback.contains(host) && !allowUnauthenticated {
            throw ValidationError("listening on \(host) without tokens would let anyone change the serving model; "
                                  + "pass --tokens-file (or BOUNDARY_TOKENS), or --allow-unauthenticated if that is intended")
        }
    }
}

extension BatchingPolicy: ExpressibleByArgument {}
