import Foundation

extension HTMLReport {
    // MARK: - What the network sees

    /// For a few test images: the image, Grad-CAM for the predicted label blended over it, and the
    /// strongest feature maps of an early, a middle and the last spatial layer, one row per image.
    static func explanationsSection(_ ctx: Context) -> String {
        var h = "<section id=\"explanations\" class=\"card\">\n<h2>What the network sees</h2>\n"
        let panels = ctx.input.explanations
        guard !panels.isEmpty else { return h + empty("No explanations computed.") + "</section>\n" }
        h += "<p class=\"caption\">Orange marks where the last convolutional block found evidence for the predicted "
            + "label (Grad-CAM: its channels weighted by the gradient of that label's score). The grey tiles are the "
            + "strongest channels of three layers, each scaled to its own range: early layers respond to edges and "
            + "colours, later ones to larger parts.</p>\n"
        for panel in panels {
            let ok = panel.trueLabel == panel.predictedLabel
            h += "<div class=\"xrow \(ok ? "ok" : "bad")\"><div class=\"xhead\">"
            h += image(panel.imagePNG, alt: "test image, true " + ctx.name(panel.trueLabel), className: "ximg")
            h += image(panel.overlayPNG, alt: "Grad-CAM for " + ctx.name(panel.predictedLabel), className: "ximg")
            h += "<div class=\"small\"><div><span class=\"muted\">true</span> \(escape(truncate(ctx.name(panel.trueLabel), 22)))</div>"
            h += "<div><span class=\"muted\">pred</span> \(escape(truncate(ctx.name(panel.predictedLabel), 22))) "
                + "(\(pct(Double(panel.probability))))</div>"
            h += "<div class=\"muted\">map at \(escape(panel.camLayer))</div>"
            if let name = panel.name, !name.isEmpty { h += "<div class=\"muted fn\">\(escape(truncate(name, 30)))</div>" }
            h += "</div></div>"
            for layer in panel.layers {
                h += "<div class=\"xlayer\"><div class=\"muted small\">\(escape(layer.layer)) · \(escape(layer.shape))</div><div class=\"xtiles\">"
                for (i, tile) in layer.channelPNGs.enumerated() {
                    h += image(tile, alt: "\(layer.layer) channel \(i + 1)", className: "xtile")
                }
                h += "</div></div>"
            }
            h += "</div>\n"
        }
        return h + "</section>\n"
    }

    private static func image(_ png: Data, alt: String, className: String) -> String {
        "<img class=\"\(className)\" src=\"data:image/png;base64,\(png.base64EncodedString())\" alt=\"\(escape(alt))\">"
    }
}
