import Foundation

/// Precision / recall / F1 / support for one class.
public struct ClassMetrics: Codable, Sendable, Equatable {
    public var label: String
    public var precision: Double
    public var recall: Double
    public var f1: Double
    /// Number of samples whose *true* label is this class.
    public var support: Int

    public init(label: String, precision: Double, recall: Double, f1: Double, support: Int) {
        self.label = label
        self.precision = precision
        self.recall = recall
        self.f1 = f1
        self.support = support
    }
}

/// Averaged precision / recall / F1 over classes.
public struct AveragedMetrics: Codable, Sendable, Equatable {
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var support: Int

    public init(precision: Double, recall: Double, f1: Double, support: Int) {
        self.precision = precision
        self.recall = recall
        self.f1 = f1
        self.support = support
    }
}

/// Multi-class classification metrics, in the spirit of scikit-learn's
/// `classification_report` + `confusion_matrix`.
///
/// Conventions:
/// - `confusionMatrix[t][p]` counts samples with true class `t` predicted as `p`
///   (rows = true, columns = predicted).
/// - A class with no predictions has precision 0; a class with no support has
///   recall 0; F1 is 0 when precision + recall == 0 (sklearn's `zero_division=0`).
/// - Macro averages are unweighted means over **all** classes in `classNames`
///   (including classes with zero support); weighted averages are weighted by support.
/// - Labels outside `0..<classNames.count` are ignored (counted in `ignoredCount`).
/// - `accuracy` is 0 when there are no (valid) samples.
public struct ClassificationMetrics: Codable, Sendable, Equatable {
    public var classNames: [String]
    public var accuracy: Double
    public var perClass: [ClassMetrics]
    public var macroAverage: AveragedMetrics
    public var weightedAverage: AveragedMetrics
    /// rows = true class, columns = predicted class.
    public var confusionMatrix: [[Int]]
    /// Number of valid (true, predicted) pairs that were counted.
    public var total: Int
    /// Pairs skipped because a label was out of range (or arrays were of unequal length).
    public var ignoredCount: Int

    public init(classNames: [String], accuracy: Double, perClass: [ClassMetrics],
                macroAverage: AveragedMetrics, weightedAverage: AveragedMetrics,
                confusionMatrix: [[Int]], total: Int, ignoredCount: Int = 0) {
        self.classNames = classNames
        self.accuracy = accuracy
        self.perClass = perClass
        self.macroAverage = macroAverage
        self.weightedAverage = weightedAverage
        self.confusionMatrix = confusionMatrix
        self.total = total
        self.ignoredCount = ignoredCount
    }

    private enum CodingKeys: String, CodingKey {
        case classNames, accuracy, perClass, macroAverage, weightedAverage, confusionMatrix, total, ignoredCount
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        classNames = try c.decode([String].self, forKey: .classNames)
        accuracy = try c.decode(Double.self, forKey: .accuracy)
        perClass = try c.decode([ClassMetrics].self, forKey: .perClass)
        macroAverage = try c.decode(AveragedMetrics.self, forKey: .macroAverage)
        weightedAverage = try c.decode(AveragedMetrics.self, forKey: .weightedAverage)
        confusionMatrix = try c.decode([[Int]].self, forKey: .confusionMatrix)
        total = try c.decodeIfPresent(Int.self, forKey: .total) ?? confusionMatrix.joined().reduce(0, +)
        ignoredCount = try c.decodeIfPresent(Int.self, forKey: .ignoredCount) ?? 0
    }

    /// Computes metrics from parallel arrays of true and predicted class indices.
    /// If the arrays differ in length, only the common prefix is used (the rest
    /// is counted in `ignoredCount`).
    public init(trueLabels: [Int], predictedLabels: [Int], classNames: [String]) {
        let k = classNames.count
        var cm = Array(repeating: Array(repeating: 0, count: k), count: k)
        let n = min(trueLabels.count, predictedLabels.count)
        var ignored = max(trueLabels.count, predictedLabels.count) - n
        for i in 0..<n {
            let t = trueLabels[i], p = predictedLabels[i]
            guard t >= 0, t < k, p >= 0, p < k else { ignored += 1; continue }
            cm[t][p] += 1
        }
        self.init(confusionMatrix: cm, classNames: classNames)
        self.ignoredCount = ignored
    }

    /// Computes metrics from a square confusion matrix (rows = true, columns = predicted).
    /// Missing cells (ragged rows) are treated as 0.
    public init(confusionMatrix raw: [[Int]], classNames: [String]) {
        let k = classNames.count
        var cm = Array(repeating: Array(repeating: 0, count: k), count: k)
        for t in 0..<min(k, raw.count) {
            for p in 0..<min(k, raw[t].count) { cm[t][p] = max(0, raw[t][p]) }
        }
        var perClass: [ClassMetrics] = []
        perClass.reserveCapacity(k)
        var total = 0
        var correct = 0
        var colSums = Array(repeating: 0, count: k)
        for t in 0..<k {
            for p in 0..<k {
                total += cm[t][p]
                colSums[p] += cm[t][p]
            }
            correct += cm[t][t]
        }
        for c in 0..<k {
            let tp = cm[c][c]
            let support = cm[c].reduce(0, +)
            let predicted = colSums[c]
            let precision = predicted > 0 ? Double(tp) / Double(predicted) : 0
            let recall = support > 0 ? Double(tp) / Double(support) : 0
            let f1 = (precision + recall) > 0 ? 2 * precision * recall / (precision + recall) : 0
            perClass.append(ClassMetrics(label: classNames[c], precision: precision,
                                         recall: recall, f1: f1, support: support))
        }
        let kd = Double(max(k, 1))
        let macro = AveragedMetrics(
            precision: k > 0 ? perClass.map(\.precision).reduce(0, +) / kd : 0,
            recall: k > 0 ? perClass.map(\.recall).reduce(0, +) / kd : 0,
            f1: k > 0 ? perClass.map(\.f1).reduce(0, +) / kd : 0,
            support: total)
        func weighted(_ kp: KeyPath<ClassMetrics, Double>) -> Double {
            guard total > 0 else { return 0 }
            return perClass.reduce(0) { $0 + $1[keyPath: kp] * Double($1.support) } / Double(total)
        }
        let weightedAvg = AveragedMetrics(precision: weighted(\.precision), recall: weighted(\.recall),
                                          f1: weighted(\.f1), support: total)
        self.init(classNames: classNames,
                  accuracy: total > 0 ? Double(correct) / Double(total) : 0,
                  perClass: perClass, macroAverage: macro, weightedAverage: weightedAvg,
                  confusionMatrix: cm, total: total, ignoredCount: 0)
    }

    /// Row-normalised confusion matrix (each row sums to 1; all-zero rows stay 0).
    public var normalizedConfusionMatrix: [[Double]] {
        confusionMatrix.map { row in
            let s = row.reduce(0, +)
            return row.map { s > 0 ? Double($0) / Double(s) : 0 }
        }
    }

    // MARK: - Text rendering

    /// A plain-text report similar to scikit-learn's `classification_report`,
    /// followed by the confusion matrix (rows = true, columns = predicted).
    public func renderText(digits: Int = 4) -> String {
        let d = max(0, digits)
        func fmt(_ x: Double) -> String { String(format: "%.\(d)f", x) }
        let labelWidth = max(["weighted avg", "macro avg", "accuracy"].map(\.count).max()!,
                             classNames.map(\.count).max() ?? 0)
        let colWidth = max(9, d + 3)
        func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
            let n = s.count
            if n >= w { return s }
            let sp = String(repeating: " ", count: w - n)
            return left ? s + sp : sp + s
        }
        var out = ""
        out += pad("", labelWidth) + "  "
            + ["precision", "recall", "f1-score", "support"].map { pad($0, colWidth) }.joined(separator: " ")
            + "\n\n"
        for m in perClass {
            out += pad(m.label, labelWidth) + "  "
                + [fmt(m.precision), fmt(m.recall), fmt(m.f1), String(m.support)]
                    .map { pad($0, colWidth) }.joined(separator: " ") + "\n"
        }
        out += "\n"
        out += pad("accuracy", labelWidth) + "  "
            + [pad("", colWidth), pad("", colWidth), pad(fmt(accuracy), colWidth), pad(String(total), colWidth)]
                .joined(separator: " ") + "\n"
        for (name, a) in [("macro avg", macroAverage), ("weighted avg", weightedAverage)] {
            out += pad(name, labelWidth) + "  "
                + [fmt(a.precision), fmt(a.recall), fmt(a.f1), String(a.support)]
                    .map { pad($0, colWidth) }.joined(separator: " ") + "\n"
        }
        if ignoredCount > 0 {
            out += "\n(\(ignoredCount) sample(s) ignored: label out of range or length mismatch)\n"
        }
        // Confusion matrix.
        out += "\nConfusion matrix (rows = true, columns = predicted):\n"
        let maxCount = confusionMatrix.flatMap { $0 }.max() ?? 0
        let cellWidth = max(String(maxCount).count,
                            classNames.map { min($0.count, 12) }.max() ?? 1) + 1
        func short(_ s: String) -> String { s.count > 12 ? String(s.prefix(11)) + "…" : s }
        out += pad("", labelWidth) + " "
            + classNames.map { pad(short($0), cellWidth) }.joined() + "\n"
        for (t, row) in confusionMatrix.enumerated() {
            out += pad(classNames[t], labelWidth) + " "
                + row.map { pad(String($0), cellWidth) }.joined() + "\n"
        }
        return out
    }
}

extension ClassificationMetrics: CustomStringConvertible {
    public var description: String { renderText() }
}
