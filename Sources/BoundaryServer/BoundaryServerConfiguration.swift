import Foundation
import ImageSearch
import Retraining
import Serving

/// Everything `boundary serve` and the tests choose about a server, transport aside.
public struct BoundaryServerConfiguration: Sendable {
    /// A model directory registered as version 1 of `name` when the registry has no such model, so
    /// a fresh data directory serves something (the committed demo model, or a test's tiny one).
    public struct SeedModel: Sendable {
        public var name: String
        public var directory: URL
        public init(name: String, directory: URL) {
            self.name = name
            self.directory = directory
        }
    }

    public var dataDirectory: URL
    public var serving: ServingConfiguration
    public var seedModels: [SeedModel]
    /// Bearer tokens; nil turns authentication off (for local development only).
    public var tokens: AccessTokens?
    /// Roles every caller has without a token (e.g. `[.predict]` for a public classifier).
    public var openRoles: Set<Role>
    /// How often the registry is checked for new versions and moved serving pointers.
    public var registryPollInterval: Duration
    /// Largest accepted image; the transport's request size limit should match.
    public var maxImageBytes: Int
    /// Requests of one PredictStream in progress at once.
    public var streamWindow: Int
    /// Memory for recently predicted images (and their embeddings) that feedback may name by id.
    public var recentImageBytes: Int = 256 << 20
    /// The learning loop: intake limits and quotas, retention, retrain threads, the schedule.
    public var learning: LearningLoopConfiguration
    /// The search index: Rocchio weights, entries kept per model, retention age.
    public var search = SearchConfiguration()
    /// Opens the feedback store; nil: the embedded SQLite file `feedback.sqlite` in the data
    /// directory. `boundary serve --store postgres://…` opens the shared PostgreSQL store here.
    public var openStore: (@Sendable () throws -> LearningLoop.Store)?
    /// Where a serving-only replica sends Retrain and WatchRetrain (`--trainer`).
    public var retrainForwarder: (any RetrainForwarder)?

    public static let defaultMaxRequestBytes = 16 * 1024 * 1024

    public init(dataDirectory: URL, serving: ServingConfiguration = ServingConfiguration(),
                seedModels: [SeedModel] = [], tokens: AccessTokens? = nil, openRoles: Set<Role> = [],
                registryPollInterval: Duration = .seconds(1), maxImageBytes: Int = Self.defaultMaxRequestBytes,
                streamWindow: Int = 64, retrainThreads: Int = 1) {
        self.dataDirectory = dataDirectory
        self.serving = serving
        self.seedModels = seedModels
        self.tokens = tokens
        self.openRoles = openRoles
        self.registryPollInterval = registryPollInterval
        self.maxImageBytes = maxImageBytes
        self.streamWindow = streamWindow
        learning = LearningLoopConfiguration(retrainThreads: retrainThreads)
        maxInflightBytes = Self.defaultInflightBytes(physicalMemory: ProcessInfo.processInfo.physicalMemory,
                                                     maxImageBytes: maxImageBytes)
    }

    /// The largest request message admitted: the image limit plus room for a request's other
    /// fields. The transport refuses larger messages from their length prefix, before reading
    /// them, with RESOURCE_EXHAUSTED; images between the two limits are refused by the service.
    public var maxRequestMessageBytes: Int { maxImageBytes + Self.requestFieldAllowance }
    public static let requestFieldAllowance = 64 << 10

    /// Bytes of request bodies held at once across all calls (`--max-inflight-mb`); beyond it new
    /// requests are shed with RESOURCE_EXHAUSTED before their bodies are read. Defaults to
    /// `defaultInflightBytes` for this machine and the image limit given at init.
    public var maxInflightBytes: Int

    /// An eighth of the memory this process may use (the machine's, or its container's cgroup
    /// limit when lower), at most 2 GiB, and room for at least four of the largest requests.
    public static func defaultInflightBytes(physicalMemory: UInt64, maxImageBytes: Int) -> Int {
        let usable = min(physicalMemory, cgroupMemoryLimit() ?? .max)
        return max(Int(min(usable / 8, 2 << 30)), 4 * (maxImageBytes + requestFieldAllowance))
    }

    /// The container's memory limit (cgroup v2 `memory.max`, or v1 `memory.limit_in_bytes`), nil
    /// when there is none: a pod limited to 2 GiB on a large host must shed load, not be killed.
    static func cgroupMemoryLimit() -> UInt64? {
        for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            if let limit = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit < 1 << 60 { return limit }
        }
        return nil
    }

    var imagingLimits: ImagingLimits {
        ImagingLimits(maxEncodedBytes: maxImageBytes, maxPixelCount: ImagingLimits.default.maxPixelCount)
    }
}
