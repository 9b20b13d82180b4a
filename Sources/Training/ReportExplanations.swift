import Foundation
import Imaging
import NeuralNet
import Reports

/// The report's "what the network sees" panel, as the classic projects drew it: for a few test
/// images, the image, where the model found its evidence for what it predicted (Grad-CAM, blended
/// over the image) and the strongest feature maps of an early, a middle and the last spatial layer.
public enum ReportExplanations {
    /// Up to `count` images: the most confident right predictions and the most confident wrong
    /// ones, alternating, so the panel shows both what the model gets and what fools it. For a
    /// multi-head model, `images.labels` are its first head's.
    public static func panels(network: Network, images: DecodedImages, predictions: Predictions, count: Int = 4,
                              channelsPerLayer: Int = 6) throws -> [ExplanationPanel] {
        guard count > 0, images.count > 0, let camLayer = try? network.explainableLayer(named: nil) else { return [] }
        // The first head's answer (a classic model's only one; its indices are the model's own).
        let first = network.spec.outputHeads[0]
        let predicted = (0..<images.count).map { predictions.predictedLabel($0, head: first) }
        let confidence = (0..<images.count).map { predictions.row($0)[predictions.row($0).startIndex + predicted[$0]] }
        // Images without a label (a multi-head image its first head has none for) are neither.
        let byConfidence = (0..<images.count).filter { images.labels[$0] >= 0 }.sorted { confidence[$0] > confidence[$1] }
        let right = byConfidence.filter { predicted[$0] == images.labels[$0] }
        let wrong = byConfidence.filter { predicted[$0] != images.labels[$0] }
        var chosen: [Int] = []
        for i in 0..<max(right.count, wrong.count) where chosen.count < count {
            if i < right.count { chosen.append(right[i]) }
            if i < wrong.count, chosen.count < count { chosen.append(wrong[i]) }
        }
        let spatial = network.spatialLayerNames
        let shown = Array(Set([0, spatial.count / 2, spatial.count - 1])).sorted().map { spatial[$0] }
        let subset = images.subset(chosen)
        let loader = BatchLoader(images: subset, spec: PreprocessSpec(network.spec.input), batchSize: 1)
        var panels: [ExplanationPanel] = []
        try loader.forEachBatch(epoch: 0, shuffle: false) { batch in
            let index = chosen[batch.indices[0]]
            let image = images.images[index]
            let cam = try network.classActivationMap(image: batch.input, label: predicted[index], layer: camLayer)
            var layers: [ExplanationPanel.LayerMaps] = []
            for name in shown {
                let maps = network.featureMaps(image: batch.input, layer: try network.explainableLayer(named: name))
                let plane = maps.height * maps.width
                let tiles = try maps.channelsByMeanActivation.prefix(channelsPerLayer).map { channel in
                    try grayscalePNG(Array(maps.values[(channel * plane)..<((channel + 1) * plane)]), width: maps.width, height: maps.height)
                }
                layers.append(.init(layer: name, shape: "\(maps.channels)×\(maps.height)×\(maps.width)", channelPNGs: tiles))
            }
            panels.append(ExplanationPanel(
                name: (images.paths[index] as NSString).lastPathComponent, imagePNG: Data(try PNGEncoder.encode(image)),
                overlayPNG: try overlayPNG(cam.heat, width: cam.width, height: cam.height, on: image),
                trueLabel: images.labels[index], predictedLabel: predicted[index], probability: cam.probability,
                camLayer: cam.layer, layers: layers))
        }
        return panels
    }

    /// One channel as an 8-bit grayscale PNG, black at its minimum and white at its maximum.
    static func grayscalePNG(_ values: [Float], width: Int, height: Int) throws -> Data {
        let low = values.min() ?? 0, high = values.max() ?? 0
        let scale = high > low ? 255 / (high - low) : 0
        return Data(try PNGEncoder.encode(pixels: values.map { UInt8(max(0, min(255, ($0 - low) * scale))) },
                                          width: width, height: height, channels: .gray))
    }

    /// `image` with the heat map (on the layer's coarser grid) stretched over it bilinearly and
    /// blended in orange where the evidence is.
    static func overlayPNG(_ heat: [Float], width: Int, height: Int, on image: RGBImage) throws -> Data {
        let peak = heat.max() ?? 0
        var pixels = image.pixels
        for y in 0..<image.height {
            let fy = max(0, min(Float(height - 1), (Float(y) + 0.5) * Float(height) / Float(image.height) - 0.5))
            let (y0, wy) = (Int(fy), fy - Float(Int(fy)))
            let y1 = min(height - 1, y0 + 1)
            for x in 0..<image.width {
                let fx = max(0, min(Float(width - 1), (Float(x) + 0.5) * Float(width) / Float(image.width) - 0.5))
                let (x0, wx) = (Int(fx), fx - Float(Int(fx)))
                let x1 = min(width - 1, x0 + 1)
                let top = heat[y0 * width + x0] * (1 - wx) + heat[y0 * width + x1] * wx
                let bottom = heat[y1 * width + x0] * (1 - wx) + heat[y1 * width + x1] * wx
                let v = peak > 0 ? (top * (1 - wy) + bottom * wy) / peak : 0
                let alpha = 0.65 * v, o = (y * image.width + x) * 3
                for (c, tint) in [Float(255), 120, 0].enumerated() {
                    pixels[o + c] = UInt8(max(0, min(255, Float(pixels[o + c]) * (1 - alpha) + tint * alpha)))
                }
            }
        }
        return Data(try PNGEncoder.encode(pixels: pixels, width: image.width, height: image.height, channels: .rgb))
    }
}
