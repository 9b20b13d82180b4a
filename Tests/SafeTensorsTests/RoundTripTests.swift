import Foundation
import Testing
import SafeTensors

/// Encode → decode must reproduce every bit, and encoding must be deterministic.
@Suite struct RoundTripTests {
    static let specialValues: [Float] = [
        0, -0.0, 1, -1, .infinity, -.infinity,
        .nan, -.nan,
        Float(bitPattern: 0x7FC0_0001),  // quiet NaN with payload
        Float(bitPattern: 0xFFC1_2345),  // negative quiet NaN with payload
        Float(bitPattern: 0x7F80_0001),  // signaling NaN
        Float(bitPattern: 0x0000_0001),  // smallest subnormal
        Float(bitPattern: 0x807F_FFFF),  // largest negative subnormal
        .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .ulpOfOne,
    ]

    @Test func specialValuesRoundTripBitExact() throws {
        let archive = SafeTensorsArchive(tensors: ["special": SafeTensor(shape: [Self.specialValues.count], values: Self.specialValues)])
        let decoded = try SafeTensorsArchive(decoding: try archive.encoded())
        #expect(bits(decoded.tensors["special"]!.values) == bits(Self.specialValues))
    }

    /// Random bit patterns (every float incl. NaNs) in random shapes, with metadata.
    @Test(arguments: 0 ..< 8 as Range<UInt64>)
    func randomArchivesRoundTripBitExact(seed: UInt64) throws {
        var rng = SplitMix64(state: seed)
        var tensors: [String: SafeTensor] = [:]
        for index in 0 ..< Int.random(in: 1 ... 6, using: &rng) {
            let shape = (0 ..< Int.random(in: 0 ... 4, using: &rng)).map { _ in Int.random(in: 0 ... 5, using: &rng) }
            let count = shape.reduce(1, *)
            let values = (0 ..< count).map { _ in Float(bitPattern: UInt32.random(in: .min ... .max, using: &rng)) }
            tensors["layer\(index).weight"] = SafeTensor(shape: shape, values: values)
        }
        let archive = SafeTensorsArchive(tensors: tensors, metadata: ["seed": "\(seed)", "format": "pt"])
        let bytes = try archive.encoded()
        let decoded = try SafeTensorsArchive(decoding: bytes)
        #expect(decoded.metadata == archive.metadata)
        #expect(decoded.tensors.keys.sorted() == tensors.keys.sorted())
        for (name, tensor) in tensors {
            #expect(decoded.tensors[name]?.shape == tensor.shape)
            #expect(bits(decoded.tensors[name]?.values ?? []) == bits(tensor.values), "tensor \(name)")
        }
        #expect(try decoded.encoded() == bytes, "re-encoding must be byte-identical")
    }

    @Test func encodingIgnoresInsertionOrder() throws {
        let names = ["fc.bias", "conv1.weight", "Conv1.weight", "conv10.weight", "conv2.weight", "é", "z", "_"]
        var forward = SafeTensorsArchive(metadata: ["b": "2", "a": "1", "c": "3"])
        var backward = SafeTensorsArchive()
        for (i, name) in names.enumerated() { forward.tensors[name] = SafeTensor(shape: [1], values: [Float(i)]) }
        for (i, name) in names.enumerated().reversed() { backward.tensors[name] = SafeTensor(shape: [1], values: [Float(i)]) }
        for key in ["c", "a", "b"] { backward.metadata[key] = forward.metadata[key] }
        #expect(try forward.encoded() == backward.encoded())
    }

    @Test func tensorsAreLaidOutInUTF8NameOrder() throws {
        let archive = SafeTensorsArchive(tensors: ["b": .init(shape: [1], values: [2]), "a": .init(shape: [1], values: [1]),
                                                   "B": .init(shape: [1], values: [3])])
        let bytes = try archive.encoded()
        #expect(Array(bytes.suffix(12)) == f32Bytes([3, 1, 2]))  // "B" < "a" < "b" in bytes
    }

    @Test func writesAndReadsFiles() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        let archive = SafeTensorsArchive(tensors: ["w": SafeTensor(shape: [2, 2], values: [1, 2, 3, 4])], metadata: ["epoch": "3"])
        try archive.write(to: url)
        #expect(try SafeTensorsArchive(contentsOf: url) == archive)
        #expect(try Array(Data(contentsOf: url)) == archive.encoded())
        var updated = archive
        updated.tensors["w"]?.values = [5, 6, 7, 8]
        try updated.write(to: url)  // overwrite in place
        #expect(try SafeTensorsArchive(contentsOf: url) == updated)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["model.safetensors"])
    }

    @Test func encodingRejectsValueCountMismatch() {
        let archive = SafeTensorsArchive(tensors: ["w": SafeTensor(shape: [2, 3], values: [1, 2, 3, 4, 5])])
        #expect(throws: SafeTensorsError.shapeSizeMismatch(name: "w", shape: [2, 3], dtype: "F32", byteCount: 20)) {
            try archive.encoded()
        }
    }

    @Test func encodingRejectsReservedNameAndNegativeDimension() {
        let reserved = SafeTensorsArchive(tensors: ["__metadata__": SafeTensor(shape: [], values: [1])])
        #expect { try reserved.encoded() } throws: { error in
            guard case SafeTensorsError.invalidEntry(name: "__metadata__", _) = error else { return false }
            return true
        }
        let negative = SafeTensorsArchive(tensors: ["w": SafeTensor(shape: [-1, -2], values: [1, 2])])
        #expect { try negative.encoded() } throws: { error in
            guard case SafeTensorsError.invalidEntry(name: "w", _) = error else { return false }
            return true
        }
    }

    @Test func readingMissingFileThrows() {
        #expect(throws: (any Error).self) {
            try SafeTensorsArchive(contentsOf: URL(fileURLWithPath: "/nonexistent/dir/model.safetensors"))
        }
    }
}
