import Foundation

extension HTMLReport {
    // MARK: - Embeddings

    /// The test embeddings twice: PCA (linear; its axes mean something) and t-SNE (neighbours stay
    /// neighbours; only the grouping means something), coloured by true class, one legend.
    static func embeddingsSection(_ ctx: Context) -> String {
        var h = "<section id=\"embeddings\" class=\"card\">\n<h2>Embeddings (PCA and t-SNE)</h2>\n"
        let emb = ctx.input.embeddings
        let labels = ctx.input.embeddingLabels
        guard !emb.isEmpty, (emb.first?.count ?? 0) > 0 else {
            return h + empty("No embeddings available.") + "</section>\n"
        }
        let idx = strided(Array(emb.indices), cap: max(2, ctx.options.maxScatterPoints))
        let pts = idx.map { emb[$0] }
        let cls = idx.map { $0 < labels.count ? labels[$0] : -1 }
        let fit = PCA.fit(pts, components: 2)
        let ratio = fit.explainedVarianceRatio + [0, 0]
        let pca = scatter(fit.projected, classes: cls, ctx: ctx, axes: ("PC1 (\(pct(ratio[0])))", "PC2 (\(pct(ratio[1])))"),
                          ticks: true, aria: "PCA scatter of embeddings")
        let dim = emb.first?.count ?? 0
        var cap2 = "2-D PCA projection of \(pts.count) test embedding\(pts.count == 1 ? "" : "s") (dimension \(dim))"
        if pts.count < emb.count { cap2 += ", evenly subsampled from \(emb.count)" }
        cap2 += ". Explained variance: PC1 \(pct(ratio[0])), PC2 \(pct(ratio[1])) (total \(pct(ratio[0] + ratio[1])))."
        // PCA and t-SNE side by side (they wrap below each other on a narrow page), one legend.
        let tsne = ctx.options.maxTSNEPoints >= 2 && pts.count >= 2
        let box = tsne ? "scatterbox half" : "scatterbox"
        h += "<div class=\"scatterwrap\"><div class=\"\(box)\">" + pca.svg + "<p class=\"caption\">\(escape(cap2))</p></div>"
        if tsne {
            let sub = strided(Array(pts.indices), cap: ctx.options.maxTSNEPoints)
            let configuration = TSNEConfiguration()
            let result = TSNE.embed(sub.map { pts[$0] }, configuration: configuration)
            let map = scatter(result.positions, classes: sub.map { cls[$0] }, ctx: ctx, axes: ("t-SNE 1", "t-SNE 2"),
                              ticks: false, aria: "t-SNE map of embeddings")
            let method = result.method == .exact ? "exact" : "Barnes–Hut, θ 0.5"
            let cap3 = "t-SNE map of \(sub.count) of the same embeddings (perplexity \(SVG.n(result.perplexity)), \(method), "
                + "\(configuration.iterations) iterations from the PCA start; KL divergence \(String(format: "%.3f", result.klDivergence))). "
                + "Points close here are close in the embedding space; distances between groups and the axes mean nothing."
            h += "<div class=\"\(box)\">" + map.svg + "<p class=\"caption\">\(escape(cap3))</p></div>"
        }
        h += "<ul class=\"legend\(pca.classOrder.count > 16 ? " wide" : "")\">"
        for c in pca.classOrder {
            let name = c >= 0 ? ctx.name(c) : "unlabelled"
            h += "<li><span class=\"dot\" style=\"background:\(Palette.color(c))\"></span>\(escape(name)) <span class=\"muted\">(\(pca.counts[c]!))</span></li>"
        }
        h += "</ul></div>\n"
        h += "</section>\n"
        return h
    }

    /// An evenly strided, deterministic subsample of `indices`, at most `cap` long.
    static func strided(_ indices: [Int], cap: Int) -> [Int] {
        guard indices.count > cap else { return indices }
        let stride = Double(indices.count) / Double(cap)
        return (0..<cap).map { indices[Int(Double($0) * stride)] }
    }

    /// points [N, 2] as an SVG scatter coloured by class; `ticks` draws value ticks and grid.
    static func scatter(_ xy: [[Float]], classes cls: [Int], ctx: Context, axes: (String, String), ticks: Bool,
                        aria: String) -> (svg: String, classOrder: [Int], counts: [Int: Int]) {
        let w = 640.0, hgt = 440.0, ml = 52.0, mr = 16.0, mt = 16.0, mb = 42.0
        let xsv = xy.map { Double($0[0]) }.filter(\.isFinite)
        let ysv = xy.map { Double($0.count > 1 ? $0[1] : 0) }.filter(\.isFinite)
        func padded(_ v: [Double]) -> (Double, Double) {
            let lo = v.min() ?? -1, hi = v.max() ?? 1
            let pad = (hi - lo) * 0.05
            return (lo - pad, hi + pad)
        }
        let (x0, x1) = padded(xsv), (y0, y1) = padded(ysv)
        let xd = SVG.niceDomain(x0, x1, count: 6), yd = SVG.niceDomain(y0, y1, count: 5)
        let sx = SVG.Scale(d0: xd.lo, d1: xd.hi, r0: ml, r1: w - mr)
        let sy = SVG.Scale(d0: yd.lo, d1: yd.hi, r0: hgt - mb, r1: mt)
        let n = SVG.n
        var s = "<svg class=\"scatter\" viewBox=\"0 0 \(n(w)) \(n(hgt))\" role=\"img\" aria-label=\"\(escape(aria))\">"
        if ticks {
            for v in yd.ticks {
                let y = sy(v)
                s += "<line class=\"grid\" x1=\"\(n(ml))\" x2=\"\(n(w - mr))\" y1=\"\(n(y))\" y2=\"\(n(y))\"/>"
                s += "<text class=\"tick\" x=\"\(n(ml - 6))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(escape(SVG.tickLabel(v, step: yd.step)))</text>"
            }
            for v in xd.ticks {
                let x = sx(v)
                s += "<line class=\"grid\" x1=\"\(n(x))\" x2=\"\(n(x))\" y1=\"\(n(mt))\" y2=\"\(n(hgt - mb))\"/>"
                s += "<text class=\"tick\" x=\"\(n(x))\" y=\"\(n(hgt - mb + 16))\" text-anchor=\"middle\">\(escape(SVG.tickLabel(v, step: xd.step)))</text>"
            }
        }
        s += "<rect x=\"\(n(ml))\" y=\"\(n(mt))\" width=\"\(n(w - ml - mr))\" height=\"\(n(hgt - mt - mb))\" fill=\"none\" stroke=\"#9aa5b1\"/>"
        s += "<text class=\"al\" x=\"\(n((ml + w - mr) / 2))\" y=\"\(n(hgt - 8))\" text-anchor=\"middle\">\(escape(axes.0))</text>"
        s += "<text class=\"al\" transform=\"translate(14 \(n((mt + hgt - mb) / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(axes.1))</text>"
        // Points grouped by class.
        var groups: [Int: [Int]] = [:]
        for (i, c) in cls.enumerated() { groups[c, default: []].append(i) }
        let classOrder = groups.keys.sorted()
        let r = xy.count > 1500 ? 2.4 : 3.4
        for c in classOrder {
            s += "<g fill=\"\(Palette.color(c))\" fill-opacity=\"0.78\"><title>\(escape(c >= 0 ? ctx.name(c) : "unlabelled"))</title>"
            for i in groups[c]! {
                let px = Double(xy[i][0]), py = Double(xy[i].count > 1 ? xy[i][1] : 0)
                guard px.isFinite, py.isFinite else { continue }
                s += "<circle cx=\"\(n(sx(px)))\" cy=\"\(n(sy(py)))\" r=\"\(n(r))\"/>"
            }
            s += "</g>"
        }
        s += "</svg>"
        return (s, classOrder, groups.mapValues(\.count))
    }
}
