import Foundation

extension DemoDataset {
    /// File name of the manifest written by `writeImageFolder` at the root of the tree.
    public static let manifestFileName = "manifest.csv"
    /// File name of the two-head manifest (`class`, `blend`) written beside it.
    public static let headsManifestFileName = "heads.csv"

    /// Writes an ImageFolder tree
    ///
    ///     directory/{train,val,test}/{className}/{index}.{ext}     (index zero-padded to 6 digits)
    ///     directory/manifest.csv                                    (one row per image)
    ///     directory/classes.txt                                     (class names, one per line, label order)
    ///
    /// Only splits present in `counts` are written; each gets indices `0..<count` and a directory for
    /// every class (even if empty). Existing files are overwritten.
    ///
    /// Manifest columns: `path,split,index,label,class,paired_label,paired_class,ambiguity`, where `path`
    /// is relative to `directory` with `/` separators and `ambiguity` has 6 decimals. Rows are ordered
    /// train, val, test, then by index. Filter on `ambiguity` (e.g. ≥ 0.35) to build a boundary set.
    ///
    /// - Parameter encode: turns RGB8 interleaved pixels into file bytes plus an extension without dot
    ///   (the main package passes its PNG encoder; tests use PPM).
    /// - Returns: number of images written per split.
    @discardableResult
    public func writeImageFolder(
        to directory: URL,
        counts: [Split: Int],
        encode: (_ rgb: [UInt8], _ width: Int, _ height: Int) throws -> (bytes: [UInt8], fileExtension: String)
    ) throws -> [Split: Int] {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        var manifest = "path,split,index,label,class,paired_label,paired_class,ambiguity\n"
        // The same images for a two-head model (`boundary train --manifest`): what the image shows,
        // and whether it was morphed toward its pair's class (ambiguity is drawn below 0.10 or
        // from 0.15 up, so the two never meet).
        var heads = "path,split,class,blend\n"
        var written: [Split: Int] = [:]
        for split in Split.allCases {
            guard let count = counts[split] else { continue }
            precondition(count >= 0, "counts must be non-negative")
            let splitDir = directory.appendingPathComponent(split.rawValue, isDirectory: true)
            for name in classNames {
                try fm.createDirectory(at: splitDir.appendingPathComponent(name, isDirectory: true),
                                       withIntermediateDirectories: true)
            }
            for index in 0..<count {
                let item = sample(split, index: index)
                let encoded = try encode(render(item, split: split), imageSize, imageSize)
                let className = classNames[item.label]
                let fileName = DemoDataset.paddedIndex(index) + "." + encoded.fileExtension
                let relative = "\(split.rawValue)/\(className)/\(fileName)"
                try Data(encoded.bytes).write(
                    to: splitDir.appendingPathComponent(className, isDirectory: true)
                        .appendingPathComponent(fileName, isDirectory: false))
                manifest += "\(relative),\(split.rawValue),\(index),\(item.label),\(className),"
                manifest += "\(item.pairedLabel),\(classNames[item.pairedLabel]),"
                manifest += DemoDataset.formatAmbiguity(item.ambiguity) + "\n"
                heads += "\(relative),\(split.rawValue),\(className),\(item.ambiguity < 0.125 ? "clear" : "blended")\n"
            }
            written[split] = count
        }
        try Data(manifest.utf8).write(to: directory.appendingPathComponent(DemoDataset.manifestFileName))
        try Data(heads.utf8).write(to: directory.appendingPathComponent(DemoDataset.headsManifestFileName))
        try Data((classNames.joined(separator: "\n") + "\n").utf8)
            .write(to: directory.appendingPathComponent("classes.txt"))
        return written
    }

    static func paddedIndex(_ index: Int) -> String {
        let digits = String(index)
        return digits.count >= 6 ? digits : String(repeating: "0", count: 6 - digits.count) + digits
    }

    /// Fixed 6-decimal formatting without Foundation's locale-dependent formatters.
    static func formatAmbiguity(_ a: Double) -> String {
        let micros = Int((min(max(a, 0), 1) * 1_000_000).rounded())
        let frac = String(micros % 1_000_000)
        return "\(micros / 1_000_000)." + String(repeating: "0", count: 6 - frac.count) + frac
    }
}
