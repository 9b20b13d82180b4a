import Foundation
import NeuralNet
import Testing
@testable import Training

@Suite struct ImageFolderTests {
    @Test func readsClassesSortedAndSkipsBadFilesByPath() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try writePatternFolder(at: root, splits: ["train": 6, "test": 2])
        let bad = root.appendingPathComponent("train/bars-v/broken.jpg")
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 1, 2, 3]).write(to: bad)
        try Data("not an image".utf8).write(to: root.appendingPathComponent("train/square/notes.txt"))

        let folder = try ImageFolder(root: root, validationShare: 0.3)
        #expect(folder.classNames == ["bars-h", "bars-v", "square"])
        #expect(folder.validationWasSplitOff)
        #expect(folder.train.count + folder.validation.count == 19, "18 PNGs + the broken JPEG; the .txt is ignored")
        #expect(folder.test.count == 6)

        let all = folder.train + folder.validation
        let decoded = DecodedImages.load(all, input: tinySpec(labels: folder.classNames).input, threads: 2)
        #expect(decoded.count == 18)
        #expect(decoded.skipped.count == 1)
        #expect(decoded.skipped.first?.path == bad.path)
        #expect(decoded.images.allSatisfy { $0.width == 16 && $0.height == 16 })
    }

    @Test func validationSplitIsDeterministicAndDisjoint() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try writePatternFolder(at: root, splits: ["train": 40])
        let a = try ImageFolder(root: root, validationShare: 0.2)
        let b = try ImageFolder(root: root, validationShare: 0.2)
        #expect(a.validation == b.validation)
        #expect(a.train == b.train)
        #expect(Set(a.train.map(\.path)).isDisjoint(with: a.validation.map(\.path)))
        // 120 files at 20%: comfortably between 10 and 40 held out.
        #expect((10...40).contains(a.validation.count))
        // Adding a file never moves an existing one between splits.
        try FileManager.default.copyItem(at: root.appendingPathComponent("train/square/0.png"),
                                         to: root.appendingPathComponent("train/square/extra.png"))
        let c = try ImageFolder(root: root, validationShare: 0.2)
        #expect(Set(a.validation.map(\.path)).isSubset(of: c.validation.map(\.path)))
    }

    @Test func explicitValFolderIsUsedAndUnknownClassesRefused() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try writePatternFolder(at: root, splits: ["train": 3, "val": 2])
        let folder = try ImageFolder(root: root)
        #expect(!folder.validationWasSplitOff)
        #expect(folder.validation.count == 6)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("val/zebra"), withIntermediateDirectories: true)
        #expect(throws: DatasetError.self) { try ImageFolder(root: root) }
    }

    @Test func missingTrainFolderNamesThePath() {
        let error = #expect(throws: DatasetError.self) { try ImageFolder(root: URL(fileURLWithPath: "/nonexistent/data")) }
        #expect(error?.description.contains("/nonexistent/data/train") == true)
    }
}
