import Testing
@testable import SafeTensors

/// Checks that we speak the real format, not merely a self-consistent one.
@Suite struct GoldenTests {
    static let bias = SafeTensor(shape: [2], values: [0.5, -1.0])
    static let conv = SafeTensor(shape: [2, 3], values: [1.0, -2.5, 0.0, -0.0, 3.25, Float(bitPattern: 1)])
    static let archive = SafeTensorsArchive(tensors: ["conv1.weight": conv, "bias": bias], metadata: ["format": "pt"])

    /// The file spelled out byte by byte from the spec text.
    static let handBuilt: [UInt8] = {
        let header = #"{"__metadata__":{"format":"pt"},"#
            + #""bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
            + #""conv1.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]}}"#
        #expect(header.utf8.count == 155)  // → 5 spaces of padding to reach 160
        var file: [UInt8] = [0xA0, 0, 0, 0, 0, 0, 0, 0]  // 160, little-endian u64
        file += Array(header.utf8) + Array(repeating: 0x20, count: 5)
        file += [0x00, 0x00, 0x00, 0x3F, 0x00, 0x00, 0x80, 0xBF]  // bias: 0.5, -1.0 (LE F32)
        file += [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0,   // conv1.weight row 0: 1.0, -2.5, 0.0
                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80,   // row 1: -0.0, 3.25, 1e-45 (min subnormal)
                 0x00, 0x00, 0x50, 0x40, 0x01, 0x00, 0x00, 0x00]
        return file
    }()

    /// Generated with safetensors 0.8.0 / numpy 2.4 (Python 3.11):
    /// ```
    /// save({"conv1.weight": np.array([[1.0, -2.5, 0.0], [-0.0, 3.25, 1e-45]], np.float32),
    ///       "bias": np.array([0.5, -1.0], np.float32)}, metadata={"format": "pt"}).hex()
    /// ```
    static let pythonReference = hexBytes("""
        a0000000000000007b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074227d2c2262696173223a7b22\
        6474797065223a22463332222c227368617065223a5b325d2c22646174615f6f666673657473223a5b302c385d7d2c2263\
        6f6e76312e776569676874223a7b226474797065223a22463332222c227368617065223a5b322c335d2c22646174615f6f\
        666673657473223a5b382c33325d7d7d20202020200000003f000080bf0000803f000020c0000000000000008000005040\
        01000000
        """)

    @Test func handBuiltFileMatchesPythonReference() {
        #expect(Self.handBuilt == Self.pythonReference)
    }

    @Test func encoderProducesReferenceBytes() throws {
        #expect(try Self.archive.encoded() == Self.pythonReference)
    }

    @Test func decoderReadsReferenceFile() throws {
        let decoded = try SafeTensorsArchive(decoding: Self.pythonReference)
        #expect(decoded.metadata == ["format": "pt"])
        #expect(decoded.tensors.keys.sorted() == ["bias", "conv1.weight"])
        #expect(decoded.tensors["bias"]?.shape == [2])
        #expect(bits(decoded.tensors["bias"]!.values) == bits(Self.bias.values))
        #expect(decoded.tensors["conv1.weight"]?.shape == [2, 3])
        #expect(bits(decoded.tensors["conv1.weight"]!.values) == bits(Self.conv.values))
    }

    /// Name and metadata escaping must match serde_json (quotes, backslash, control
    /// characters as \n or \u00XX, DEL / non-ASCII / '/' left raw). Generated with:
    /// `save({'a"b\\c\nd\x01\x7fé/€': np.array([1.5], np.float32)}, metadata={"note": 'tab\there "q" /'})`
    @Test func escapingMatchesPythonReference() throws {
        let reference = hexBytes("""
            78000000000000007b225f5f6d657461646174615f5f223a7b226e6f7465223a227461625c7468657265205c22715c2220\
            2f227d2c22615c22625c5c635c6e645c75303030317fc3a92fe282ac223a7b226474797065223a22463332222c22736861\
            7065223a5b315d2c22646174615f6f666673657473223a5b302c345d7d7d0000c03f
            """)
        let name = "a\"b\\c\nd\u{01}\u{7F}é/€"
        let archive = SafeTensorsArchive(tensors: [name: SafeTensor(shape: [1], values: [1.5])],
                                          metadata: ["note": "tab\there \"q\" /"])
        #expect(try archive.encoded() == reference)
        let decoded = try SafeTensorsArchive(decoding: reference)
        #expect(decoded.tensors[name]?.values == [1.5])
        #expect(decoded.metadata == ["note": "tab\there \"q\" /"])
    }

    /// Zero-element and scalar (shape `[]`) tensors; note the empty tensor's
    /// offsets [0,0] coincide with the next tensor's start. Generated with:
    /// `save({"e": np.zeros((0, 3), np.float32), "s": np.array(7.0, np.float32)})`
    @Test func emptyAndScalarTensorsMatchPythonReference() throws {
        let reference = hexBytes("""
            70000000000000007b2265223a7b226474797065223a22463332222c227368617065223a5b302c335d2c22646174615f6f\
            666673657473223a5b302c305d7d2c2273223a7b226474797065223a22463332222c227368617065223a5b5d2c22646174\
            615f6f666673657473223a5b302c345d7d7d202020200000e040
            """)
        let archive = SafeTensorsArchive(tensors: ["e": SafeTensor(shape: [0, 3], values: []),
                                                   "s": SafeTensor(shape: [], values: [7])])
        #expect(try archive.encoded() == reference)
        #expect(try SafeTensorsArchive(decoding: reference) == archive)
    }

    @Test func headerIsPaddedToEightBytesAndLengthIsLittleEndian() throws {
        for count in 0 ..< 12 {
            let name = String(repeating: "x", count: count + 1)
            let bytes = try SafeTensorsArchive(tensors: [name: SafeTensor(shape: [1], values: [1])]).encoded()
            let headerLength = bytes[0 ..< 8].reversed().reduce(0) { $0 << 8 | Int($1) }
            #expect(headerLength % 8 == 0)
            #expect(bytes.count == 8 + headerLength + 4)
            let header = bytes[8 ..< 8 + headerLength]
            #expect(header.first == UInt8(ascii: "{"))
            let padding = header.reversed().prefix(while: { $0 == 0x20 }).count
            #expect(padding < 8)
            #expect(header.dropLast(padding).last == UInt8(ascii: "}"))
        }
    }

    @Test func emptyArchiveEncodesAsEmptyObject() throws {
        let bytes = try SafeTensorsArchive().encoded()
        #expect(bytes == makeFile(header: "{}"))
        #expect(try SafeTensorsArchive(decoding: bytes) == SafeTensorsArchive())
    }
}
