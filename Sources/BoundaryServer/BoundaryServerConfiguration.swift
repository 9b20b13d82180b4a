import Foundation
import Imaging
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
    /// Cores a retrain may use; serving keeps the rest.
    public var retrainThreads: Int
    /// Memory for recently predicted images (and their embeddings) that feedback may name by id.
    public var recentImageBytes: Int = 256 << 20
    /// The periodic fine-tuning loop, when enabled: how often, the minimum queue, the settings.
    public var retrainSchedule: RetrainScheduleConfiguration?

    public struct RetrainScheduleConfiguration: Sendable {
        public var interval: Duration
        public var minSamples: Int
        public var options: RetrainOptions
        public init(interval: Duration, minSamples: Int, options: RetrainOptions) {
            self.interval = interval
            self.minSamples = minSamples
            self.options = options
        }
    }

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
        self.retrainThreads = retrainThreads
    }

    /// The largest request message admitted: the image limit plus room for a request's other
    /// fields. The transport refuses larger messages from their length prefix, before reading
    /// them, with RESOURCE_EXHAUSTED; images between the two limits are refused by the service.
    public var maxRequestMessageBytes: Int { maxImageBytes + Self.requestFieldAllowance }
    public static let requestFieldAllowance = 64 << 10

    /// Bytes of request bodies held at once across all calls (`--max-inflight-mb`); beyond it new
    /// requests are shed with RESOURCE_EXHAUSTED before their bodies are read.
    public var maxInflightBytes: Int = BoundaryServerConfiguration.defaultInflightBytes(
        physicalMemory: ProcessInfo.processInfo.physicalMemory, maxImageBytes: defaultMaxRequestBytes)

    /// An eighth of the machine's memory, at most 2 GiB, and room for at least four of the
    /// largest requests.
    public static func defaultInflightBytes(physicalMemory: UInt64, maxImageBytes: Int) -> Int {
        max(Int(min(physicalMemory / 8, 2 << 30)), 4 * (maxImageBytes + requestFieldAllowance))
    }

    var imagingLimits: ImagingLimits {
        ImagingLimits(maxEncodedBytes: maxImageBytes, maxPixelCount: ImagingLimits.default.maxPixelCount)
    }
}
