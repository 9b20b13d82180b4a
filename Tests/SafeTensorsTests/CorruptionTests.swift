import Testing
@testable import SafeTensors

/// Every way a checkpoint can be damaged must end in a named error, never a crash.
@Suite struct CorruptionTests {
    static let small: [UInt8] = try! SafeTensorsArchive(
        tensors: ["a": SafeTensor(shape: [2], values: [1, 2]), "b": SafeTensor(shape: [1, 3], values: [3, 4, 5])],
        metadata: ["format": "pt"]
    ).encoded()
    static var headerEnd: Int { 8 + Int(small[0]) }  // header < 256 bytes here

    /// Cutting the file at any byte must throw, and the error must say where it broke.
    @Test(arguments: 0 ..< small.count)
    func truncationAtEveryCutPointThrowsNamedError(cut: Int) {
        let error = decodingError(Array(Self.small.prefix(cut)))
        switch error {
        case .fileTooSmall(let n)?:
            #expect(cut < 8 && n == cut)
        case .truncated(let declared, let available)?:
            #expect(cut >= 8 && cut < Self.headerEnd && declared == Self.headerEnd - 8 && available == cut - 8)
        case .offsetsOutOfRange(_, _, _, let bufferSize)?:
            #expect(cut >= Self.headerEnd && bufferSize == cut - Self.headerEnd)
        default:
            Issue.record("cut at \(cut): unexpected \(String(describing: error))")
        }
    }

    @Test func untouchedSmallFileDecodes() throws {
        #expect(try SafeTensorsArchive(decoding: Self.small).tensors.count == 2)
    }

    /// Appending bytes is corruption too: the spec says tensors cover the whole buffer.
    @Test func trailingBytesAreRefused() {
        #expect(decodingError(Self.small + [0, 0, 0]) == .trailingBytes(count: 3, bufferSize: 23))
    }

    @Test(arguments: [UInt64.max, UInt64(Int.max) + 1, UInt64(Int.max), 100_000_001, 1 << 40])
    func absurdHeaderLengthIsRefusedBeforeAllocating(declared: UInt64) {
        let file = littleEndianBytes(declared) + Array("{}".utf8)
        #expect(decodingError(file) == .headerLengthOutOfRange(declared: declared, available: 2))
    }

    @Test func plausibleHeaderLengthBeyondFileIsTruncation() {
        let file = littleEndianBytes(UInt64(100_000_000)) + Array("{}".utf8)
        #expect(decodingError(file) == .truncated(declaredHeaderByteCount: 100_000_000, available: 2))
    }

    @Test(arguments: [
        "", "   ", "not json", "{", "{\"a\":", "[]", "[1,2]", "\"string\"", "42", "null", "{}}", "{'a':1}",
        "{\"a\":{\"dtype\":\"F32\" \"shape\":[]}}", String(repeating: "[", count: 100_000), String(repeating: "{\"a\":", count: 50_000),
    ])
    func headerThatIsNotAJSONObjectIsRefused(header: String) {
        guard case .headerNotJSON(let reason)? = decodingError(makeFile(header: header)) else {
            Issue.record("expected headerNotJSON for \(header.prefix(40))")
            return
        }
        #expect(!reason.isEmpty)
    }

    @Test func invalidUTF8HeaderIsRefused() {
        let header: [UInt8] = Array("{\"".utf8) + [0xFF, 0xFE] + Array("\":{}}   ".utf8)
        let file = littleEndianBytes(UInt64(header.count)) + header
        guard case .headerNotJSON? = decodingError(file) else {
            Issue.record("expected headerNotJSON")
            return
        }
    }

    @Test func randomGarbageNeverCrashes() {
        var rng = SplitMix64(state: 42)
        for _ in 0 ..< 300 {
            var file = Self.small
            for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) {
                file[Int.random(in: 0 ..< file.count, using: &rng)] = UInt8.random(in: 0 ... 255, using: &rng)
            }
            _ = try? SafeTensorsArchive(decoding: file)  // must return or throw, nothing else
        }
    }

    @Test(arguments: ["I32", "U8", "BOOL", "F8_E4M3", "f32", "float32", ""])
    func unsupportedDTypeIsNamed(dtype: String) {
        let file = makeFile(header: #"{"w":{"dtype":"\#(dtype)","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        #expect(decodingError(file) == .unsupportedDType(name: "w", dtype: dtype))
    }

    /// Structurally wrong entries: missing fields, wrong JSON types, bad numbers.
    @Test(arguments: [
        #"{"dtype":"F32","shape":[1]}"#,
        #"{"shape":[1],"data_offsets":[0,4]}"#,
        #"{"dtype":"F32","data_offsets":[0,4]}"#,
        #"{"dtype":32,"shape":[1],"data_offsets":[0,4]}"#,
        #"{"dtype":"F32","shape":"1","data_offsets":[0,4]}"#,
        #"{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}"#,
        #"{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}"#,
        #"{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}"#,
        #"{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}"#,
        #"{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}"#,
        #"{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999999]}"#,
        #"{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}"#,
        #"{"dtype":"F32","shape":[null],"data_offsets":[0,4]}"#,
        #""oops""#,
    ])
    func malformedEntryIsNamed(entry: String) {
        let error = decodingError(makeFile(header: #"{"conv.w":\#(entry)}"#, data: [0, 0, 0, 0]))
        guard case .invalidEntry(name: "conv.w", let reason)? = error else {
            Issue.record("expected invalidEntry for \(entry), got \(String(describing: error))")
            return
        }
        #expect(!reason.isEmpty)
    }

    @Test(arguments: [#"{"format":1}"#, #"[]"#, #"{"a":{"b":"c"}}"#])
    func nonStringMetadataIsRefused(metadata: String) {
        let error = decodingError(makeFile(header: #"{"__metadata__":\#(metadata)}"#))
        guard case .invalidEntry(name: "__metadata__", _)? = error else {
            Issue.record("expected invalidEntry(__metadata__), got \(String(describing: error))")
            return
        }
    }

    @Test func offsetsPastTheBufferAreNamed() {
        let file = makeFile(header: #"{"conv1.weight":{"dtype":"F32","shape":[1024],"data_offsets":[0,4096]}}"#,
                            data: Array(repeating: 0, count: 1024))
        let error = decodingError(file)
        #expect(error == .offsetsOutOfRange(name: "conv1.weight", begin: 0, end: 4096, bufferSize: 1024))
        #expect(error?.description == "checkpoint tensor 'conv1.weight': data_offsets [0, 4096] run past the end of the 1024-byte buffer — the file is truncated or corrupt")
    }

    @Test func reversedOffsetsAreNamed() {
        let file = makeFile(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: Array(repeating: 0, count: 8))
        #expect(decodingError(file) == .offsetsOutOfRange(name: "w", begin: 8, end: 4, bufferSize: 8))
    }

    @Test func overlappingTensorsAreRefused() {
        let file = makeFile(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
                            + #""b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: Array(repeating: 0, count: 12))
        #expect(decodingError(file) == .overlappingOrGappedTensors(name: "b", begin: 4, expectedBegin: 8))
    }

    @Test func aliasedTensorsAreRefused() {
        let file = makeFile(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
                            + #""b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: Array(repeating: 0, count: 4))
        #expect(decodingError(file) == .overlappingOrGappedTensors(name: "b", begin: 0, expectedBegin: 4))
    }

    @Test func gapsBetweenTensorsAreRefused() {
        let file = makeFile(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
                            + #""b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, data: Array(repeating: 0, count: 12))
        #expect(decodingError(file) == .overlappingOrGappedTensors(name: "b", begin: 8, expectedBegin: 4))
    }

    @Test func bufferNotStartingAtZeroIsRefused() {
        let file = makeFile(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: Array(repeating: 0, count: 8))
        #expect(decodingError(file) == .overlappingOrGappedTensors(name: "a", begin: 4, expectedBegin: 0))
    }

    @Test(arguments: [
        ("F32", [3], 8), ("F32", [2, 2], 8), ("F16", [3], 8), ("F64", [2], 8), ("BF16", [], 8),
    ] as [(String, [Int], Int)])
    func shapeSizeMismatchIsNamed(dtype: String, shape: [Int], byteCount: Int) {
        let shapeText = shape.map(String.init).joined(separator: ",")
        let file = makeFile(header: #"{"w":{"dtype":"\#(dtype)","shape":[\#(shapeText)],"data_offsets":[0,\#(byteCount)]}}"#,
                            data: Array(repeating: 0, count: byteCount))
        #expect(decodingError(file) == .shapeSizeMismatch(name: "w", shape: shape, dtype: dtype, byteCount: byteCount))
    }

    /// Overflowing shape × dtype-size must be a mismatch, not a trap.
    @Test func elementCountTimesDTypeSizeOverflowIsMismatch() {
        let huge = Int.max / 2  // fits as an element count, overflows when × 4
        let file = makeFile(header: #"{"w":{"dtype":"F32","shape":[\#(huge)],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        #expect(decodingError(file) == .shapeSizeMismatch(name: "w", shape: [huge], dtype: "F32", byteCount: 4))
    }

    /// Readers must not insist on the writer-side padding (the reference doesn't).
    @Test func unpaddedHeaderIsAccepted() throws {
        let file = makeFile(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: f32Bytes([9]), pad: false)
        #expect(try SafeTensorsArchive(decoding: file).tensors["w"]?.values == [9])
    }

    @Test func errorDescriptionsNameTheProblem() {
        let cases: [(SafeTensorsError, String)] = [
            (.fileTooSmall(byteCount: 3), "only 3 bytes"),
            (.headerLengthOutOfRange(declared: 1 << 40, available: 2), "100000000-byte limit"),
            (.truncated(declaredHeaderByteCount: 160, available: 10), "truncated"),
            (.unsupportedDType(name: "idx", dtype: "I64"), "'idx': dtype \"I64\" is not supported"),
            (.shapeSizeMismatch(name: "w", shape: [3], dtype: "F32", byteCount: 8), "shape [3] of F32 does not match its 8 bytes"),
            (.overlappingOrGappedTensors(name: "b", begin: 4, expectedBegin: 8), "overlapping"),
            (.overlappingOrGappedTensors(name: "b", begin: 8, expectedBegin: 4), "gap"),
            (.trailingBytes(count: 3, bufferSize: 23), "3 unaccounted bytes"),
            (.missingTensor(name: "fc.bias"), "no tensor named 'fc.bias'"),
            (.shapeMismatch(name: "fc.w", expected: [10, 4], found: [4, 10]), "has shape [4, 10], but the model expects [10, 4]"),
        ]
        for (error, fragment) in cases {
            #expect(error.description.contains(fragment), "\(error.description)")
        }
    }
}
