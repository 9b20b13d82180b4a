import Foundation

extension HTMLReport {
    // MARK: - Every head

    /// A multi-head model's heads side by side: each head's accuracy, and the best and worst test
    /// images with a pie of every head's distribution (as the camera-settings study showed its
    /// inferences). Empty for a model with one head.
    static func headsSection(_ ctx: Context) -> String {
        let heads = ctx.input.heads
        guard !heads.isEmpty else { return "" }
        var h = "<section id=\"heads\" class=\"card\">\n<h2>Every head</h2>\n"
        h += "<p class=\"caption\">One backbone answers \(heads.count) questions at once; the sections above show its first "
            + "head, <strong>\(escape(heads[0].name))</strong>. Each head is judged on the test images labelled for it.</p>\n"
        h += "<div class=\"scroll\"><table class=\"metrics\"><thead><tr><th class=\"l\">Head</th><th class=\"l\">Labels</th>"
            + "<th>Accuracy</th><th>Macro F1</th><th class=\"barcol\"></th><th>Images</th></tr></thead><tbody>\n"
        for head in heads {
            let accuracy = head.metrics?.accuracy
            let w = (accuracy ?? 0).isFinite ? min(max(accuracy ?? 0, 0), 1) * 100 : 0
            h += "<tr><td class=\"l\"><strong>\(escape(head.name))</strong></td>"
                + "<td class=\"l\">\(escape(truncate(head.labels.joined(separator: " · "), 60)))</td>"
                + "<td>\(pct(accuracy))</td><td>\(fixed(head.metrics?.macroAverage.f1))</td>"
                + "<td class=\"barcol\"><div class=\"bar\"><div style=\"width:\(SVG.n(w))%\"></div></div></td>"
                + "<td>\(head.metrics.map { String($0.total) } ?? "—")</td></tr>\n"
        }
        h += "</tbody></table></div>\n"

        // Ranked by the mean probability the heads gave the truth: best with every head right,
        // worst from the lowest.
        let scored = ctx.input.predictions.enumerated().compactMap { index, example -> (Int, PredictionExample, Double, Bool)? in
            guard let outcomes = example.heads, outcomes.count == heads.count else { return nil }
            let truths = outcomes.compactMap(\.trueClassProbability)
            guard !truths.isEmpty else { return nil }
            let right = outcomes.allSatisfy { $0.isCorrect ?? true }
            return (index, example, truths.map(Double.init).reduce(0, +) / Double(truths.count), right)
        }
        guard !scored.isEmpty else { return h + empty("No example predictions with head labels.") + "</section>\n" }
        let n = max(1, ctx.options.examplesPerGroup)
        let best = scored.filter(\.3).sorted { ($0.2, -$0.0) > ($1.2, -$1.0) }.prefix(n)
        let shown = Set(best.map(\.0))
        let worst = scored.filter { !shown.contains($0.0) }.sorted { ($0.2, $0.0) < ($1.2, $1.0) }.prefix(n)
        h += "<p class=\"caption\">Each pie is one head's distribution over its labels; the label in bold is the truth, "
            + "◂ marks the prediction.</p>\n"
        h += "<h3>Best <span class=\"muted\">— every head right, most confidently</span></h3>\n"
        h += best.isEmpty ? empty("No image has every head right.")
            : "<div class=\"grid\">" + best.map { headsCard($0.1, right: $0.3, heads: heads) }.joined() + "</div>\n"
        h += "<h3>Worst <span class=\"muted\">— least probability on the truth, averaged over heads</span></h3>\n"
        h += worst.isEmpty ? empty("No further predictions to show.")
            : "<div class=\"grid\">" + worst.map { headsCard($0.1, right: $0.3, heads: heads) }.joined() + "</div>\n"
        h += "</section>\n"
        return h
    }

    static func headsCard(_ example: PredictionExample, right: Bool, heads: [ReportHead]) -> String {
        var h = "<div class=\"pcard \(right ? "ok" : "bad")\">"
        h += example.imagePNG.isEmpty ? "<div class=\"noimg\">no image</div>"
            : "<img src=\"data:image/png;base64,\(Data(example.imagePNG).base64EncodedString())\" alt=\"test image\">"
        if let name = example.name, !name.isEmpty { h += "<div class=\"muted small fn\">\(escape(truncate(name, 30)))</div>" }
        for (head, outcome) in zip(heads, example.heads ?? []) {
            h += "<div class=\"hrow\">" + pie(outcome, labels: head.labels) + "<div class=\"small\"><div><strong>\(escape(head.name))</strong>"
            if let ok = outcome.isCorrect { h += " <span class=\"badge\">\(ok ? "✓" : "✗")</span>" }
            h += "</div>"
            let order = outcome.probabilities.indices.sorted { outcome.probabilities[$0] > outcome.probabilities[$1] }.prefix(3)
            for label in order {
                let name = escape(truncate(head.labels[label], 14))
                h += "<div><span class=\"sw\" style=\"background:\(Palette.color(label))\"></span>"
                    + (label == outcome.trueLabel ? "<strong>\(name)</strong>" : name)
                    + " \(pct(Double(outcome.probabilities[label]), digits: 0))\(label == outcome.predictedLabel ? " ◂" : "")</div>"
            }
            h += "</div></div>"
        }
        return h + "</div>"
    }

    /// A pie of one head's distribution: slices in label order, coloured by label.
    static func pie(_ outcome: HeadOutcome, labels: [String]) -> String {
        let r = 14.0, c = 2 * Double.pi * r, n = SVG.n
        var s = "<svg class=\"hpie\" viewBox=\"0 0 40 40\" role=\"img\" aria-label=\"distribution over \(labels.count) labels\">"
        var start = 0.0
        for (label, p) in outcome.probabilities.enumerated() {
            let share = Double(min(max(p, 0), 1))
            guard share > 0.002 else { continue }
            // A circle stroked as thick as its radius draws a slice: dash = the slice's arc.
            s += "<circle r=\"\(n(r / 2))\" cx=\"20\" cy=\"20\" fill=\"none\" stroke=\"\(Palette.color(label))\" "
                + "stroke-width=\"\(n(r))\" stroke-dasharray=\"\(n(share * c / 2)) \(n(c))\" "
                + "stroke-dashoffset=\"\(n(-start * c / 2))\" transform=\"rotate(-90 20 20)\">"
                + "<title>\(escape(label < labels.count ? labels[label] : "label \(label)")): \(pct(share))</title></circle>"
            start += share
        }
        return s + "</svg>"
    }
}
