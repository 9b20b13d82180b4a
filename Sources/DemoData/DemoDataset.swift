/// # DemoData — a procedural, deterministic image-classification dataset with a real decision boundary
///
/// `DemoDataset` renders RGB8 images of any size (default 64×64, designed for 32…128) on the fly, so
/// Boundary has a dataset on a fresh machine with no files at all. Every image is a pure function of
/// `(seed, split, index)` (plus `classCount`, `imageSize`, `overlap`), byte-identical on every platform.
///
/// ## Classes and confusable pairs
/// Ten classes in five *families*. Each family is a pair of classes that are two ends of one continuous
/// rendering parameter `s ∈ [0, 1]` (s = 0 → first class, s = 1 → second class):
///
/// | labels | classes                                   | morph parameter s                                              |
/// |--------|-------------------------------------------|----------------------------------------------------------------|
/// | 0, 1   | `noise-blobs` ↔ `noise-grass`             | value-noise frequency 2.5–4.5 cells isotropic → 14–18 cells, stretched 4.5–6.5× vertically (blades) |
/// | 2, 3   | `pattern-checker` ↔ `pattern-crosshatch`  | checkerboard mask cross-fades into a grid of lines (same cell, rotation) |
/// | 4, 5   | `shape-square` ↔ `shape-triangle`         | top edge of a quad shrinks: square → trapezoid → triangle (apex) |
/// | 6, 7   | `spots-dots` ↔ `spots-rings`              | hole radius of 3–7 discs grows: filled dots → thin rings        |
/// | 8, 9   | `stripes-horizontal` ↔ `stripes-vertical` | stripe angle 0° → 90° (45° = diagonal), ±12° jitter             |
///
/// Names are alphabetically sorted *and* pair-adjacent, so (a) an ImageFolder loader that sorts class
/// directories assigns the same indices as `label`, and (b) any even `classCount` prefix has complete pairs.
/// With an odd `classCount` the last class has no partner: `pairedLabel == label` and `ambiguity == 0`.
///
/// Nuisance variation shared by all classes (so colour is never a shortcut): random background and
/// foreground colours with random contrast (luminance gap 0.2–0.7), linear colour gradients on both,
/// random positions/scales/rotations/phases, edge softness, and per-pixel RGB noise (σ up to ~0.08).
///
/// ## Ambiguity and `overlap`
/// Each sample draws an ambiguity `a`. The image of a first-of-pair class is rendered at `s = a`, a
/// second-of-pair class at `s = 1 − a`; every other rendering parameter is drawn from the *same* stream
/// regardless of the label. Hence at `a = 0.5` the two classes of a pair produce byte-identical images:
/// the Bayes-optimal classifier is exactly 50/50 there (this is tested). Distribution of `a`:
/// - with probability `1 − overlap`: `a = 0.10 · u²` (clean; never above 0.10),
/// - with probability `overlap`: `a = 0.15 + 0.35 · u` (boundary component, uniform on [0.15, 0.5]),
///
/// with `u ~ U[0, 1)`. So `overlap = 0` gives no image with `a > 0.1`, `overlap = 0.3` puts ~30% of images
/// in the boundary band (~9% with `a > 0.4`, the genuinely ambiguous ones). Generated ambiguities never
/// exceed 0.5; hand-made samples (`sample(label:ambiguity:index:)`) may use `a ∈ [0, 1]`, where
/// `a > 0.5` means "looks more like the paired class" (i.e. label noise).
///
/// ## Determinism
/// Randomness is SplitMix64 seeded by hashing `(seed, split, index, stream)`; separate streams for the
/// label permutation, the ambiguity draw and the rendering, so splits are disjoint streams and `render`
/// does not depend on call order. Rendering uses only IEEE `+ − × ÷`, `sqrt`, rounding, and a
/// home-made Taylor `sin/cos` evaluated once per image (no libm transcendental, no Foundation random),
/// so pixels are byte-identical across platforms and optimisation levels.
///
/// Labels are balanced: indices are grouped in blocks of `classCount`, and each block is a seeded
/// permutation of all classes (every class appears exactly once per block).
public struct DemoDataset: Sendable {
    /// The ten built-in classes (alphabetical; pairs are (0,1), (2,3), …, (8,9)).
    public static let defaultClassNames: [String] = [
        "noise-blobs", "noise-grass",
        "pattern-checker", "pattern-crosshatch",
        "shape-square", "shape-triangle",
        "spots-dots", "spots-rings",
        "stripes-horizontal", "stripes-vertical",
    ]

    public enum Split: String, Sendable, CaseIterable, Hashable {
        case train, val, test
    }

    /// One dataset item's metadata. Pixels come from `render(_:split:)`.
    public struct Sample: Sendable, Hashable {
        /// Class index in `0..<classCount`.
        public let label: Int
        /// The confusable partner class (== `label` when the partner is not among the classes).
        public let pairedLabel: Int
        /// How far the image is morphed toward `pairedLabel`: 0 = prototypical, 0.5 = exactly on the boundary.
        public let ambiguity: Double
        /// Index within its split; together with the split and seed it fixes every rendering detail.
        public let index: Int
    }

    public let classCount: Int
    public let imageSize: Int
    public let overlap: Double
    public let seed: UInt64
    public let classNames: [String]

    /// - Parameters:
    ///   - classCount: 2...10; uses the first `classCount` of `defaultClassNames`.
    ///   - imageSize: width = height in pixels (≥ 8; designed for 32…128).
    ///   - overlap: 0...1, share of samples drawn from the boundary band (see type docs).
    ///   - seed: dataset seed; all splits derive from it.
    public init(classCount: Int = 10, imageSize: Int = 64, overlap: Double = 0.3, seed: UInt64 = 0) {
        precondition((2...DemoDataset.defaultClassNames.count).contains(classCount),
                     "classCount must be in 2...\(DemoDataset.defaultClassNames.count)")
        precondition(imageSize >= 8, "imageSize must be at least 8")
        precondition(overlap >= 0 && overlap <= 1, "overlap must be in [0, 1]")
        self.classCount = classCount
        self.imageSize = imageSize
        self.overlap = overlap
        self.seed = seed
        self.classNames = Array(DemoDataset.defaultClassNames.prefix(classCount))
    }

    /// Bytes per rendered image: `imageSize * imageSize * 3`.
    public var bytesPerImage: Int { imageSize * imageSize * 3 }

    /// The confusable partner of `label` (itself if the partner is not part of this dataset).
    public func pairedLabel(of label: Int) -> Int {
        precondition((0..<classCount).contains(label), "label out of range")
        let partner = label ^ 1
        return partner < classCount ? partner : label
    }

    /// All complete confusable pairs in this dataset, e.g. [(0,1), (2,3), …].
    public var pairs: [(Int, Int)] {
        stride(from: 0, to: classCount - 1, by: 2).map { ($0, $0 + 1) }
    }

    // MARK: Samples

    /// Metadata of item `index` of `split` (deterministic; O(classCount)).
    public func sample(_ split: Split, index: Int) -> Sample {
        precondition(index >= 0, "index must be non-negative")
        let label = labelFor(split, index: index)
        let paired = pairedLabel(of: label)
        var ambiguity = 0.0
        if paired != label {
            var rng = SplitMix64(seed: deriveSeed(seed, split: split, index: index, stream: .ambiguity))
            let pick = rng.unit()
            let u = rng.unit()
            ambiguity = pick < overlap ? 0.15 + 0.35 * u : 0.10 * u * u
        }
        return Sample(label: label, pairedLabel: paired, ambiguity: ambiguity, index: index)
    }

    /// The first `count` samples of `split` (indices 0..<count).
    public func samples(_ split: Split, count: Int) -> [Sample] {
        precondition(count >= 0)
        return (0..<count).map { sample(split, index: $0) }
    }

    /// A hand-made sample, e.g. to render class `label` exactly on the boundary (`ambiguity: 0.5`)
    /// with the nuisance parameters (colours, positions, noise) of item `index`.
    /// `ambiguity` may be in [0, 1]; it is ignored (treated as 0) for a class without partner.
    public func sample(label: Int, ambiguity: Double, index: Int) -> Sample {
        precondition((0..<classCount).contains(label), "label out of range")
        precondition(ambiguity >= 0 && ambiguity <= 1, "ambiguity must be in [0, 1]")
        precondition(index >= 0, "index must be non-negative")
        let paired = pairedLabel(of: label)
        return Sample(label: label, pairedLabel: paired, ambiguity: paired == label ? 0 : ambiguity, index: index)
    }

    private func labelFor(_ split: Split, index: Int) -> Int {
        let block = index / classCount
        var rng = SplitMix64(seed: deriveSeed(seed, split: split, index: block, stream: .labels))
        var perm = Array(0..<classCount)
        // Fisher–Yates, only as far as needed.
        let position = index % classCount
        for i in 0...position {
            let j = i + rng.int(below: classCount - i)
            perm.swapAt(i, j)
        }
        return perm[position]
    }

    // MARK: Rendering

    /// RGB8 interleaved pixels, row-major, `imageSize * imageSize * 3` bytes.
    /// Uses `sample.label` and `sample.ambiguity`; every other detail comes from `(seed, split, sample.index)`.
    public func render(_ sample: Sample, split: Split) -> [UInt8] {
        precondition((0..<classCount).contains(sample.label), "label out of range")
        var out = [UInt8](repeating: 0, count: bytesPerImage)
        out.withUnsafeMutableBufferPointer { buffer in
            render(sample, split: split, into: buffer)
        }
        return out
    }

    /// Convenience: `render(sample(split, index: index), split: split)`.
    public func render(_ split: Split, index: Int) -> [UInt8] {
        render(sample(split, index: index), split: split)
    }

    /// Renders into caller-owned memory of at least `bytesPerImage` bytes (e.g. a batch buffer).
    public func render(_ sample: Sample, split: Split, into buffer: UnsafeMutableBufferPointer<UInt8>) {
        precondition(buffer.count >= bytesPerImage, "buffer too small")
        precondition((0..<classCount).contains(sample.label), "label out of range")
        let isSecond = sample.label & 1 == 1
        let a = sample.pairedLabel == sample.label ? 0 : min(max(sample.ambiguity, 0), 1)
        let s = isSecond ? 1 - a : a
        let family = Family(rawValue: sample.label >> 1)!
        var rng = SplitMix64(seed: deriveSeed(seed, split: split, index: sample.index, stream: .render))
        Renderer.render(family: family, morph: Float(s), size: imageSize, rng: &rng, into: buffer)
    }

    /// A grid of rendered samples (for eyeballing). Cells are separated by a 2-pixel white gutter.
    /// Returns RGB8 pixels and the sheet's size.
    public func contactSheet(_ samples: [Sample], split: Split, columns: Int)
        -> (rgb: [UInt8], width: Int, height: Int)
    {
        precondition(columns > 0)
        let gutter = 2
        let rows = max(1, (samples.count + columns - 1) / columns)
        let width = columns * imageSize + (columns + 1) * gutter
        let height = rows * imageSize + (rows + 1) * gutter
        var sheet = [UInt8](repeating: 255, count: width * height * 3)
        for (k, item) in samples.enumerated() {
            let pixels = render(item, split: split)
            let x0 = gutter + (k % columns) * (imageSize + gutter)
            let y0 = gutter + (k / columns) * (imageSize + gutter)
            for y in 0..<imageSize {
                let src = y * imageSize * 3
                let dst = ((y0 + y) * width + x0) * 3
                sheet.replaceSubrange(dst..<(dst + imageSize * 3), with: pixels[src..<(src + imageSize * 3)])
            }
        }
        return (sheet, width, height)
    }
}

/// The five pattern families; label = 2 * family + (0 | 1).
enum Family: Int, CaseIterable {
    case noise = 0, pattern, shape, spots, stripes
}
