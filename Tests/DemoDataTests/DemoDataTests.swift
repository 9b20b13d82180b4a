import Foundation
import Testing

@testable import DemoData

// MARK: helpers

private func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return h
}

private func luminance(_ rgb: [UInt8], _ i: Int) -> Double {
    0.299 * Double(rgb[3 * i]) + 0.587 * Double(rgb[3 * i + 1]) + 0.114 * Double(rgb[3 * i + 2])
}

/// Normalised difference of horizontal and vertical gradient energy, in [-1, 1]:
/// ≈ +1 for vertical stripes (intensity changes along x), ≈ -1 for horizontal stripes.
private func gradientOrientation(_ rgb: [UInt8], size n: Int) -> Double {
    var ex = 0.0, ey = 0.0
    for y in 0..<(n - 1) {
        for x in 0..<(n - 1) {
            let c = luminance(rgb, y * n + x)
            ex += abs(luminance(rgb, y * n + x + 1) - c)
            ey += abs(luminance(rgb, (y + 1) * n + x) - c)
        }
    }
    return (ex - ey) / max(ex + ey, 1e-9)
}

private func ppmEncode(_ rgb: [UInt8], _ w: Int, _ h: Int) -> (bytes: [UInt8], fileExtension: String) {
    (Array("P6\n\(w) \(h)\n255\n".utf8) + rgb, "ppm")
}

// MARK: classes and pairs

@Test func classNamesAreSortedUniqueAndPairAdjacent() {
    let names = DemoDataset.defaultClassNames
    #expect(names.count >= 8)
    #expect(names == names.sorted())
    #expect(Set(names).count == names.count)
    let ds = DemoDataset()
    #expect(ds.classNames == names)
    for label in 0..<ds.classCount {
        let partner = ds.pairedLabel(of: label)
        #expect(partner != label)
        #expect(ds.pairedLabel(of: partner) == label)
        // pairs share a family prefix, e.g. "stripes-horizontal" / "stripes-vertical"
        #expect(names[label].split(separator: "-")[0] == names[partner].split(separator: "-")[0])
    }
    #expect(ds.pairs.count == 5)
}

@Test(arguments: [3, 5, 9])
func oddClassCountLeavesLastClassUnpaired(classCount: Int) {
    let ds = DemoDataset(classCount: classCount, imageSize: 16, overlap: 1)
    let last = classCount - 1
    #expect(ds.pairedLabel(of: last) == last)
    #expect(ds.pairs.count == classCount / 2)
    for item in ds.samples(.train, count: classCount * 20) where item.label == last {
        #expect(item.pairedLabel == last)
        #expect(item.ambiguity == 0)
    }
}

// MARK: determinism

@Test(arguments: 0..<10)
func renderingIsDeterministicPerClass(label: Int) {
    let a = DemoDataset(imageSize: 32, seed: 7)
    let b = DemoDataset(imageSize: 32, seed: 7)
    let other = DemoDataset(imageSize: 32, seed: 8)
    for index in [0, 1, 123] {
        let sa = a.sample(label: label, ambiguity: 0.2, index: index)
        let sb = b.sample(label: label, ambiguity: 0.2, index: index)
        #expect(a.render(sa, split: .train) == b.render(sb, split: .train))
        #expect(a.render(sa, split: .train) != other.render(sa, split: .train))
    }
}

@Test func samplesAreDeterministicAndSeedDependent() {
    let a = DemoDataset(seed: 42).samples(.train, count: 200)
    let b = DemoDataset(seed: 42).samples(.train, count: 200)
    let c = DemoDataset(seed: 43).samples(.train, count: 200)
    #expect(a == b)
    #expect(a != c)
    #expect(DemoDataset(seed: 42).render(.val, index: 5) == DemoDataset(seed: 42).render(.val, index: 5))
}

/// Golden FNV-1a hashes: pins the exact bytes so any platform / compiler / refactor drift is caught.
@Test func goldenPixelHashes() {
    let ds = DemoDataset()  // 10 classes, 64×64, overlap 0.3, seed 0
    let hashes = (0..<4).map { fnv1a(ds.render(.train, index: $0)) }
    let golden: [UInt64] = [0xB9D5_EE4F_F3E5_0961, 0xF0D1_8810_2C61_A95C, 0x0A74_81A3_44AB_B008, 0xA1CC_CB2D_0205_4B1E]
    #expect(hashes == golden, "got \(hashes.map { "0x" + String($0, radix: 16, uppercase: true) })")
}

@Test func renderIntoBufferMatchesRender() {
    let ds = DemoDataset(imageSize: 24)
    let item = ds.sample(.test, index: 17)
    var buffer = [UInt8](repeating: 0, count: ds.bytesPerImage + 5)
    buffer.withUnsafeMutableBufferPointer { ds.render(item, split: .test, into: $0) }
    #expect(Array(buffer.prefix(ds.bytesPerImage)) == ds.render(item, split: .test))
    #expect(ds.render(.test, index: 17) == ds.render(item, split: .test))
}

@Test func deterministicSinCosMatchesLibm() {
    var x = -20.0
    while x <= 20 {
        let (s, c) = DetMath.sinCos(x)
        #expect(abs(s - sin(x)) < 1e-12)
        #expect(abs(c - cos(x)) < 1e-12)
        x += 0.0137
    }
}

// MARK: splits and balance

@Test func splitsAreDisjoint() {
    let ds = DemoDataset(imageSize: 16)
    var seen: [UInt64: DemoDataset.Split] = [:]
    for split in DemoDataset.Split.allCases {
        for index in 0..<150 {
            let h = fnv1a(ds.render(split, index: index))
            #expect(seen[h] == nil, "\(split) #\(index) duplicates an image of \(seen[h].map { "\($0)" } ?? "")")
            seen[h] = split
        }
    }
    #expect(seen.count == 450)
    // label sequences differ between splits too
    #expect(ds.samples(.train, count: 50).map(\.label) != ds.samples(.val, count: 50).map(\.label))
}

@Test(arguments: [2, 3, 5, 8, 10])
func labelsAreBalancedAndShuffled(classCount: Int) {
    let ds = DemoDataset(classCount: classCount, seed: 3)
    for split in DemoDataset.Split.allCases {
        let items = ds.samples(split, count: classCount * 30)
        var counts = [Int](repeating: 0, count: classCount)
        for item in items { counts[item.label] += 1 }
        #expect(counts == [Int](repeating: 30, count: classCount))
        // every block of classCount indices is a permutation of all classes
        for block in 0..<30 {
            let labels = items[(block * classCount)..<((block + 1) * classCount)].map(\.label)
            #expect(Set(labels).count == classCount)
        }
        #expect(items.enumerated().contains { $0.offset % classCount != $0.element.label })
        #expect(items.enumerated().allSatisfy { $0.offset == $0.element.index })
    }
}

// MARK: rendering

@Test(arguments: [32, 64, 128], 0..<10)
func everyClassRendersNonConstantImages(size: Int, label: Int) {
    let ds = DemoDataset(imageSize: size)
    for index in 0..<2 {
        let rgb = ds.render(ds.sample(label: label, ambiguity: 0, index: index), split: .val)
        #expect(rgb.count == size * size * 3)
        let lum = (0..<(size * size)).map { luminance(rgb, $0) }
        let mean = lum.reduce(0, +) / Double(lum.count)
        let std = (lum.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(lum.count)).squareRoot()
        #expect(std > 12, "class \(ds.classNames[label]) at \(size)px has luminance std \(std)")
    }
}

@Test func contactSheetHasExpectedGeometry() {
    let ds = DemoDataset(imageSize: 16)
    let sheet = ds.contactSheet(ds.samples(.train, count: 7), split: .train, columns: 3)
    #expect(sheet.width == 3 * 16 + 4 * 2)
    #expect(sheet.height == 3 * 16 + 4 * 2)
    #expect(sheet.rgb.count == sheet.width * sheet.height * 3)
}

// MARK: the decision boundary

@Test(arguments: [0.0, 0.1, 0.3, 0.6, 1.0])
func ambiguityDistributionFollowsOverlap(overlap: Double) {
    let items = DemoDataset(overlap: overlap, seed: 11).samples(.train, count: 4000)
    let amb = items.map(\.ambiguity)
    #expect(amb.allSatisfy { $0 >= 0 && $0 <= 0.5 })
    let share = Double(amb.filter { $0 > 0.2 }.count) / Double(amb.count)
    // boundary component: probability `overlap`, uniform on [0.15, 0.5] → P(a > 0.2) = overlap · 6/7
    let expected = overlap * 6 / 7
    #expect(abs(share - expected) < 0.03, "overlap \(overlap): share above 0.2 = \(share)")
    if overlap == 0 { #expect(amb.max()! <= 0.1) }
    if overlap >= 0.3 { #expect(amb.filter { $0 > 0.45 }.count > 0) }
}

@Test func moreOverlapMeansMoreAmbiguousImages() {
    let shares = [0.0, 0.15, 0.3, 0.5, 0.8].map { overlap in
        Double(DemoDataset(overlap: overlap).samples(.val, count: 3000).filter { $0.ambiguity > 0.35 }.count)
    }
    #expect(shares[0] == 0)
    #expect(zip(shares, shares.dropFirst()).allSatisfy { $0 < $1 }, "\(shares)")
}

/// At ambiguity 0.5 both classes of a pair are rendered at the same morph value with the same nuisance
/// parameters, so the images are byte-identical: the boundary is exactly 50/50.
@Test(arguments: 0..<5)
func pairMembersCoincideAtHalfAmbiguity(family: Int) {
    let ds = DemoDataset(imageSize: 32)
    let (a, b) = ds.pairs[family]
    for index in 0..<3 {
        let ra = ds.render(ds.sample(label: a, ambiguity: 0.5, index: index), split: .train)
        let rb = ds.render(ds.sample(label: b, ambiguity: 0.5, index: index), split: .train)
        #expect(ra == rb)
        // ambiguity 1 = fully morphed into the partner's prototype
        let full = ds.render(ds.sample(label: a, ambiguity: 1, index: index), split: .train)
        #expect(full == ds.render(ds.sample(label: b, ambiguity: 0, index: index), split: .train))
        // prototypes differ
        let pa = ds.render(ds.sample(label: a, ambiguity: 0, index: index), split: .train)
        #expect(pa != ds.render(ds.sample(label: b, ambiguity: 0, index: index), split: .train))
    }
}

/// A non-learned classifier (nearest class mean of one hand-crafted feature: horizontal vs vertical
/// gradient energy) separates the stripe pair almost perfectly when ambiguity is low and drops toward
/// chance near ambiguity 0.5 — the boundary is real, not a label artefact.
@Test func stripePairBoundaryDefeatsHandCraftedClassifier() {
    let ds = DemoDataset(imageSize: 32)
    let (h, v) = (8, 9)
    #expect(ds.classNames[h] == "stripes-horizontal" && ds.classNames[v] == "stripes-vertical")
    func feature(_ label: Int, _ a: Double, _ index: Int, _ split: DemoDataset.Split) -> Double {
        gradientOrientation(ds.render(ds.sample(label: label, ambiguity: a, index: index), split: split), size: 32)
    }
    let n = 40
    let meanH = (0..<n).map { feature(h, 0, $0, .train) }.reduce(0, +) / Double(n)
    let meanV = (0..<n).map { feature(v, 0, $0, .train) }.reduce(0, +) / Double(n)
    #expect(meanH < -0.3 && meanV > 0.3)
    func accuracy(_ ambiguities: (Int) -> Double) -> Double {
        var correct = 0
        for i in 0..<n {
            for label in [h, v] {
                let f = feature(label, ambiguities(i), i, .test)
                let predicted = abs(f - meanH) < abs(f - meanV) ? h : v
                if predicted == label { correct += 1 }
            }
        }
        return Double(correct) / Double(2 * n)
    }
    let clean = accuracy { _ in 0.0 }
    let mid = accuracy { _ in 0.25 }
    let boundary = accuracy { 0.45 + 0.05 * Double($0 % 2) }  // 0.45 or 0.5
    print("stripe NCM accuracy: clean \(clean), a=0.25 \(mid), a∈{0.45,0.5} \(boundary)")
    #expect(clean >= 0.95, "clean accuracy \(clean)")
    #expect(boundary <= 0.75, "boundary accuracy \(boundary)")
    #expect(clean - boundary >= 0.25)
    #expect(mid >= boundary, "clean \(clean), mid \(mid), boundary \(boundary)")
}

// MARK: ImageFolder export

@Test func writeImageFolderWritesTreeAndManifest() throws {
    let ds = DemoDataset(classCount: 4, imageSize: 12, overlap: 0.5, seed: 5)
    let root = FileManager.default.temporaryDirectory
        .appendingPathComponent("demodata-test-\(UInt64.random(in: 0...UInt64.max))", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: root) }
    let counts: [DemoDataset.Split: Int] = [.train: 10, .val: 5, .test: 3]
    let written = try ds.writeImageFolder(to: root, counts: counts, encode: ppmEncode)
    #expect(written == counts)

    let fm = FileManager.default
    for split in DemoDataset.Split.allCases {
        let splitDir = root.appendingPathComponent(split.rawValue)
        #expect(try fm.contentsOfDirectory(atPath: splitDir.path).sorted() == ds.classNames)
        var total = 0
        for name in ds.classNames {
            total += try fm.contentsOfDirectory(atPath: splitDir.appendingPathComponent(name).path).count
        }
        #expect(total == counts[split])
    }

    let manifest = try String(contentsOf: root.appendingPathComponent(DemoDataset.manifestFileName), encoding: .utf8)
    let lines = manifest.split(separator: "\n").map(String.init)
    #expect(lines.first == "path,split,index,label,class,paired_label,paired_class,ambiguity")
    #expect(lines.count == 1 + 18)
    for line in lines.dropFirst() {
        let f = line.split(separator: ",").map(String.init)
        #expect(f.count == 8)
        let split = try #require(DemoDataset.Split(rawValue: f[1]))
        let index = try #require(Int(f[2]))
        let item = ds.sample(split, index: index)
        #expect(f[0] == "\(split.rawValue)/\(ds.classNames[item.label])/\(DemoDataset.paddedIndex(index)).ppm")
        #expect(Int(f[3]) == item.label && f[4] == ds.classNames[item.label])
        #expect(Int(f[5]) == item.pairedLabel && f[6] == ds.classNames[item.pairedLabel])
        #expect(abs(try #require(Double(f[7])) - item.ambiguity) < 1e-6)
        let bytes = [UInt8](try Data(contentsOf: root.appendingPathComponent(f[0])))
        #expect(bytes == ppmEncode(ds.render(item, split: split), 12, 12).bytes)
    }
    // heads.csv: the same images, their class and whether they are blended toward their pair.
    let heads = try String(contentsOf: root.appendingPathComponent(DemoDataset.headsManifestFileName), encoding: .utf8)
        .split(separator: "\n").map(String.init)
    #expect(heads.first == "path,split,class,blend")
    #expect(heads.count == lines.count)
    for (row, line) in zip(heads.dropFirst(), lines.dropFirst()) {
        let f = row.split(separator: ",").map(String.init), m = line.split(separator: ",").map(String.init)
        let ambiguity = try #require(Double(m[7]))
        #expect(f == [m[0], m[1], m[4], ambiguity < 0.125 ? "clear" : "blended"])
    }
    #expect(Set(heads.dropFirst().map { $0.split(separator: ",").last! }) == ["clear", "blended"], "overlap 0.5 blends some")
    let classes = try String(contentsOf: root.appendingPathComponent("classes.txt"), encoding: .utf8)
    #expect(classes == ds.classNames.joined(separator: "\n") + "\n")
}

@Test func formattingHelpers() {
    #expect(DemoDataset.paddedIndex(7) == "000007")
    #expect(DemoDataset.paddedIndex(1_234_567) == "1234567")
    #expect(DemoDataset.formatAmbiguity(0.5) == "0.500000")
    #expect(DemoDataset.formatAmbiguity(0.0000126) == "0.000013")
    #expect(DemoDataset.formatAmbiguity(0) == "0.000000")
}
