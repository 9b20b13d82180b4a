import BoundaryAPI
import Serving

/// `Explain` wire messages ⇄ the explainer's types.
enum ExplainMapping {
    static func request(_ message: Boundary_V1_ExplainRequest) throws -> ExplanationRequest {
        guard message.image.isEmpty || message.imageID.isEmpty else {
            throw ServingError.invalidArgument("give either image or image_id, not both")
        }
        // Neither: empty bytes, which the explainer refuses with what to send instead.
        let image: ExplanationRequest.Image = message.imageID.isEmpty ? .bytes(message.image) : .id(message.imageID)
        return ExplanationRequest(model: message.model, version: message.version, image: image, label: message.label,
                                  layer: message.layer, featureMaps: Int(message.featureMaps))
    }

    static func response(_ explanation: Explanation) -> Boundary_V1_ExplainResponse {
        var reply = Boundary_V1_ExplainResponse()
        reply.imageID = explanation.imageID
        reply.model = explanation.model
        reply.version = UInt64(explanation.version)
        reply.label = explanation.label
        reply.labelIndex = UInt32(explanation.labelIndex)
        reply.probability = explanation.probability
        reply.layer = explanation.layer
        reply.layers = explanation.layers
        reply.heat = heatMap(explanation.heat)
        reply.featureMaps = explanation.featureMaps.map { channel in
            var map = Boundary_V1_FeatureMap()
            map.channel = UInt32(channel.channel)
            map.meanActivation = channel.meanActivation
            map.peakActivation = channel.peakActivation
            map.map = heatMap(channel.map)
            return map
        }
        reply.explainMs = explanation.seconds * 1000
        return reply
    }

    private static func heatMap(_ map: Explanation.Map) -> Boundary_V1_HeatMap {
        var message = Boundary_V1_HeatMap()
        message.height = UInt32(map.height)
        message.width = UInt32(map.width)
        message.values = map.values
        return message
    }
}
