import Testing
@testable import SafeTensors

/// Reading the half/double precision files PyTorch users tend to produce.
@Suite struct DTypeTests {
    /// `save({"h": np.array([1.0, -2.0, 0.5, 65504.0], np.float16)})` (safetensors 0.8.0).
    @Test func readsF16PythonReference() throws {
        let file = hexBytes("""
            38000000000000007b2268223a7b226474797065223a22463136222c227368617065223a5b345d2c22646174615f6f6666\
            73657473223a5b302c385d7d7d2020003c00c00038ff7b
            """)
        let tensor = try SafeTensorsArchive(decoding: file).require("h", shape: [4])
        #expect(tensor.values == [1.0, -2.0, 0.5, 65504.0])
    }

    /// `save({"d": np.array([1.0, -2.0, 1e300, 0.1], np.float64)})` (safetensors 0.8.0).
    /// 1e300 does not fit in Float and becomes +inf; 0.1 rounds to nearest.
    @Test func readsF64PythonReference() throws {
        let file = hexBytes("""
            38000000000000007b2264223a7b226474797065223a22463634222c227368617065223a5b345d2c22646174615f6f6666\
            73657473223a5b302c33325d7d7d20000000000000f03f00000000000000c09c7500883ce4377e9a9999999999b93f
            """)
        let tensor = try SafeTensorsArchive(decoding: file).require("d", shape: [4])
        #expect(tensor.values == [1.0, -2.0, .infinity, Float(0.1)])
    }

    /// numpy has no bfloat16, so this one is built by hand: BF16 is the top 16 bits of F32.
    @Test func readsBF16() throws {
        let expected: [Float] = [1.0, -2.5, .infinity, -0.0, Float(bitPattern: 0x0001_0000), 3.140625]
        let data = expected.flatMap { littleEndianBytes(UInt16($0.bitPattern >> 16)) }
        let file = makeFile(header: #"{"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]}}"#, data: data)
        let tensor = try SafeTensorsArchive(decoding: file).require("b", shape: [2, 3])
        #expect(bits(tensor.values) == bits(expected))
    }

    @Test func mixedDTypesInOneFile() throws {
        let data = littleEndianBytes(Double(0.25).bitPattern) + littleEndianBytes(UInt16(0x3C00)) + f32Bytes([7])
        let file = makeFile(header: #"{"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"#
            + #""h":{"dtype":"F16","shape":[],"data_offsets":[8,10]},"f":{"dtype":"F32","shape":[1],"data_offsets":[10,14]}}"#,
            data: data)
        let archive = try SafeTensorsArchive(decoding: file)
        #expect(archive.tensors["d"]?.values == [0.25])
        #expect(archive.tensors["h"]?.values == [1.0])
        #expect(archive.tensors["f"]?.values == [7])  // unaligned F32 at offset 10 is fine
    }

    @Test(arguments: [
        (0x0000, 0), (0x8000, -0.0), (0x3C00, 1), (0xC000, -2), (0x7BFF, 65504),
        (0x0001, 0x1p-24), (0x03FF, 0x3FFp-24), (0x0400, 0x1p-14), (0x7C00, .infinity), (0xFC00, -.infinity),
        (0x3555, 0x1.554p-2),
    ] as [(UInt16, Float)])
    func halfToFloatKnownValues(half: UInt16, expected: Float) {
        #expect(floatFromHalfBits(half).bitPattern == expected.bitPattern)
    }

    @Test func halfNaNsStayNaNWithPayload() {
        let quiet = floatFromHalfBits(0x7E00), signaling = floatFromHalfBits(0xFC01)
        #expect(quiet.isNaN && quiet.bitPattern == 0x7FC0_0000)
        #expect(signaling.isNaN && signaling.bitPattern == 0xFF80_2000)
    }

    #if os(Linux) || arch(arm64)
    /// Exhaustive cross-check against the platform's Float16 where it exists.
    @Test func halfToFloatMatchesFloat16ForAllBitPatterns() {
        var mismatches = 0
        for raw in UInt16.min ... UInt16.max {
            let reference = Float(Float16(bitPattern: raw))
            let ours = floatFromHalfBits(raw)
            if reference.isNaN ? !ours.isNaN : reference.bitPattern != ours.bitPattern { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
    #endif
}
