import Foundation
import Testing
@testable import DurableIO

private func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("durableio-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private func listing(_ dir: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
}

@Suite struct DurableFileTests {
    @Test(arguments: [0, 1, 4095, 1 << 20 + 3])
    func writesExactBytesAndLeavesNoTemporaryFile(size: Int) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("blob.bin")
        let bytes = (0 ..< size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try DurableFile.write(bytes, to: url)
        #expect(try Array(Data(contentsOf: url)) == bytes)
        #expect(try listing(dir) == ["blob.bin"])
    }

    @Test func acceptsDataAndNonContiguousCollections() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("x")
        try DurableFile.write(Data([1, 2, 3]), to: url)
        #expect(try Data(contentsOf: url) == Data([1, 2, 3]))
        try DurableFile.write((0 ..< 5).lazy.map { UInt8($0 * 2) }, to: url)  // no contiguous storage
        #expect(try Data(contentsOf: url) == Data([0, 2, 4, 6, 8]))
        try DurableFile.write([UInt8]()[...], to: url)
        #expect(try Data(contentsOf: url).isEmpty)
    }

    @Test func replacesExistingFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        try DurableFile.write(Array(repeating: UInt8(1), count: 1000), to: url)
        try DurableFile.write([9, 9], to: url)  // shorter: no stale tail may survive
        #expect(try Array(Data(contentsOf: url)) == [9, 9])
        #expect(try listing(dir) == ["model.safetensors"])
    }

    @Test func missingDirectoryThrowsErrorNamingThePath() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("no-such-dir").appendingPathComponent("model.safetensors")
        #expect { try DurableFile.write([1, 2, 3], to: url) } throws: { error in
            guard let error = error as? DurableIOError else { return false }
            return error.syscall == "open" && error.code == ENOENT
                && error.path.contains("no-such-dir") && error.path.contains(".model.safetensors.tmp-")
                && error.description.contains("No such file or directory")
                && error.description.contains(dir.path)
        }
        #expect(try listing(dir).isEmpty)
    }

    /// Rename onto a directory fails after the temp file is complete: it must be removed.
    @Test func failedRenameRemovesTemporaryFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        #expect(FileManager.default.createFile(atPath: target.appendingPathComponent("keep").path, contents: Data([1])))
        #expect { try DurableFile.write([1, 2, 3], to: target) } throws: { error in
            guard let error = error as? DurableIOError else { return false }
            return error.syscall == "rename" && error.path == target.path
        }
        #expect(try listing(dir) == ["occupied"])
    }

    /// A reader racing a writer must only ever see one complete version or the other.
    @Test func concurrentReaderNeverSeesPartialFile() async throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("checkpoint")
        let size = 256 * 1024
        try DurableFile.write(Array(repeating: UInt8(0xAA), count: size), to: url)

        let writer = Task.detached {
            for round in 0 ..< 40 {
                try DurableFile.write(Array(repeating: round % 2 == 0 ? 0xBB : 0xAA, count: size), to: url)
            }
        }
        var torn = 0
        for _ in 0 ..< 200 {
            let data = try Data(contentsOf: url)
            if data.count != size || !(data.allSatisfy { $0 == 0xAA } || data.allSatisfy { $0 == 0xBB }) { torn += 1 }
        }
        try await writer.value
        #expect(torn == 0)
        #expect(try listing(dir) == ["checkpoint"])
    }
}

@Suite struct StaleTemporaryFileTests {
    @Test func generatedNamesMatchThePattern() {
        for target in ["model.safetensors", "a", ".hidden", "x.tmp-1-2", "with-dash-and-123"] {
            let name = TemporaryName.make(for: target)
            #expect(TemporaryName.matches(name), "\(name)")
            #expect(name.hasPrefix(".\(target).tmp-\(getpid())-"))
        }
        #expect(TemporaryName.make(for: "a") != TemporaryName.make(for: "a"))
    }

    @Test func removesOnlyTemporaryPatternFiles() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let stale = [
            ".model.safetensors.tmp-123-0123456789abcdef",
            ".x.tmp-1-0000000000000000",
            ".a.tmp-5.tmp-77-ffffffffffffffff",
        ]
        let keep = [
            "model.safetensors",
            "model.safetensors.tmp-123-0123456789abcdef",  // no leading dot
            ".tmp-123-0123456789abcdef",                   // empty target name
            ".model.tmp-abc-0123456789abcdef",             // pid not numeric
            ".model.tmp--0123456789abcdef",                // empty pid
            ".model.tmp-12-0123456789abcde",               // 15 hex digits
            ".model.tmp-12-0123456789abcdef0",             // 17 hex digits
            ".model.tmp-12-0123456789ABCDEF",              // uppercase: not ours
            ".model.tmp-12-0123456789abcdeg",              // not hex
            ".model.tmp-12-0123456789abcdef-1",            // extra component
            ".bashrc",
        ]
        for name in stale + keep {
            #expect(FileManager.default.createFile(atPath: dir.appendingPathComponent(name).path, contents: Data([0])))
        }
        let patternDirectory = ".d.tmp-9-0123456789abcdef"  // matches, but is not a regular file
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(patternDirectory), withIntermediateDirectories: false)

        let removed = try DurableFile.removeStaleTemporaryFiles(in: dir)
        #expect(removed.map(\.lastPathComponent).sorted() == stale.sorted())
        #expect(try listing(dir) == (keep + [patternDirectory]).sorted())
        #expect(try DurableFile.removeStaleTemporaryFiles(in: dir).isEmpty)
    }

    @Test func missingDirectoryThrows() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)")
        #expect { try DurableFile.removeStaleTemporaryFiles(in: url) } throws: { error in
            guard let error = error as? DurableIOError else { return false }
            return error.syscall == "opendir" && error.path == url.path && error.code == ENOENT
        }
    }
}
