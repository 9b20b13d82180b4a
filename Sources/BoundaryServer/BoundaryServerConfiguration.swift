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
                registryPollInterval: Duration = .seconds(2), maxImageBytes: Int = Self.defaultMaxRequestBytes,
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

    /// The limit to give the transport: twice the image limit. Requests up to it reach the
    /// service, which refuses images over `maxImageBytes` with RESOURCE_EXHAUSTED and a message
    /// naming both sizes; only beyond it does the transport reset the stream itself (which some
    /// clients report as UNAVAILABLE), so memory stays bounded whatever a client sends.
    public var transportPayloadLimit: Int { max(2 * maxImageBytes, maxImageBytes + (1 << 20)) }

    var imagingLimits: ImagingLimits {
        ImagingLimits(maxEncodedBytes: maxImageBytes, maxPixelCount: ImagingLimits.default.maxPixelCount)
    }
}
