import BoundaryAPI
import Serving

/// `Explain` wire messages ⇄ the explainer's types.
enum ExplainMapping {
    static func request(_ message: Boundary_V1_ExplainRequest) throws -> ExplanationRequest {
        let image: ExplanationRequest.Image
        switch (message.image.isEmpty, message.imageID.isEmpty) {
        case (false, true): image = .bytes(message.image)
        case (true, false): image = .id(message.imageID)
        case (false, false): throw ServingError.invalidArgument("give either image or image_id, not both")
        case (true, true): throw ServingError.invalidArgument("give the image's bytes or the image_id of an image this server predicted")
        }
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
