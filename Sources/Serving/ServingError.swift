import Imaging
import Training

/// Everything that can go wrong serving a request, in terms a client can act on. The gRPC layer maps
/// each case to one status code; `description` is the message the client sees, so it names the
/// offending value and what would be accepted instead, and never internal paths or stack details.
public enum ServingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No model of that name is registered.
    case unknownModel(String, known: [String])
    /// The model exists but not in that version.
    case unknownVersion(model: String, version: String, known: [Int])
    /// The request named no model and there is none to default to.
    case noModels
    /// The image could not be used (not JPEG/PNG, corrupt, too many pixels, empty).
    case invalidImage(ImagingError)
    /// Some other request field is out of range.
    case invalidArgument(String)
    /// Too many requests are already waiting; the client should back off and retry.
    case overloaded(limit: Int)
    /// The server is shutting down and takes no new work.
    case shuttingDown
    /// A version exists on disk but could not be loaded (damaged files). Serving continues on the
    /// version that was loaded before.
    case loadFailed(model: String, version: Int, reason: String)
    /// A setting given at start-up is invalid.
    case invalidConfiguration(String)
    /// Feedback names a label the model does not have.
    case unknownLabel(String, model: String, labels: [String])
    /// A retrain of the model is already running.
    case retrainRunning(model: String, jobID: String)
    /// No retrain has run for the model since the server started.
    case noRetrain(model: String)
    /// This process serves only (`--role serve`): retrains run on the deployment's trainer.
    case retrainsRunElsewhere
    /// Feedback refers to image ids the server has not seen (or no longer remembers).
    case unknownImages([String])

    public var description: String {
        switch self {
        case .unknownModel(let name, let known):
            "unknown model \(EchoedValue.quoted(name)); available models: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
        case .unknownVersion(let model, let version, let known):
            "model \(EchoedValue.quoted(model)) has no version \(EchoedValue.quoted(version)); kept versions: "
                + known.map(String.init).joined(separator: ", ") + " (or 'stable' for the serving one, 'latest' for the newest)"
        case .noModels:
            "no model is loaded yet; register one with `boundary train --register NAME --data-dir DIR`"
        case .invalidImage(let error):
            error.description
        case .invalidArgument(let message):
            message
        case .overloaded(let limit):
            "server overloaded: \(limit) requests already queued; retry with backoff"
        case .shuttingDown:
            "server is shutting down; retry against another replica"
        case .loadFailed(let model, let version, let reason):
            "model '\(model)' version \(version) could not be loaded: \(reason)"
        case .invalidConfiguration(let message):
            "invalid configuration: \(message)"
        case .unknownLabel(let label, let model, let labels):
            "model '\(model)' has no label \(EchoedValue.quoted(label)); its labels are: \(labels.joined(separator: ", "))"
        case .retrainRunning(let model, let jobID):
            "a retrain of '\(model)' is already running (job \(jobID)); follow it with WatchRetrain or `boundary retrain --watch`"
        case .noRetrain(let model):
            "no retrain of '\(model)' has run since the server started"
        case .retrainsRunElsewhere:
            "this replica only serves (--role serve); retrains run on the trainer (--role train): send Retrain to it"
        case .unknownImages(let ids):
            "unknown image ids (not predicted recently and not stored): \(ids.prefix(10).joined(separator: ", "))"
                + (ids.count > 10 ? " and \(ids.count - 10) more" : "") + "; send the image bytes instead, or Predict them first"
        }
    }
}

