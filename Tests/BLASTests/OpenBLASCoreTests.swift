import BLAS
import Foundation
import Testing

/// cpuid agrees with the kernel's view of the CPU, and OpenBLAS is only ever steered upward.
@Suite struct OpenBLASCoreTests {
    static let xeon = CPUFeatures(vendor: "GenuineIntel", avx: true, avx2: true, fma: true, avx512f: true, avx512bw: true,
                                  avx512vl: true, avx512dq: true)
    static let zen2 = CPUFeatures(vendor: "AuthenticAMD", avx: true, avx2: true, fma: true)
    static let haswell = CPUFeatures(vendor: "GenuineIntel", avx: true, avx2: true, fma: true)
    static let old = CPUFeatures(vendor: "GenuineIntel")

    @Test func steersAFallbackCoreToWhatTheCPURuns() {
        #expect(OpenBLASCore.better(than: "Prescott", on: Self.xeon) == "SkylakeX")
        #expect(OpenBLASCore.better(than: "Haswell", on: Self.xeon) == "SkylakeX")
        #expect(OpenBLASCore.better(than: "Prescott", on: Self.zen2) == "Zen")
        #expect(OpenBLASCore.better(than: "Sandybridge", on: Self.haswell) == "Haswell")
        #expect(OpenBLASCore.better(than: "SomethingNew", on: Self.haswell) == "Haswell", "an unknown name counts as generic")
    }

    @Test func leavesRecognisedCoresAlone() {
        #expect(OpenBLASCore.better(than: "SkylakeX", on: Self.xeon) == nil)
        #expect(OpenBLASCore.better(than: "Cooperlake", on: Self.xeon) == nil)
        #expect(OpenBLASCore.better(than: "Zen", on: Self.zen2) == nil)
        #expect(OpenBLASCore.better(than: "Cooperlake", on: Self.zen2) == nil, "never a step down")
        #expect(OpenBLASCore.better(than: "Prescott", on: Self.old) == nil)
    }

    @Test func featureLevels() {
        #expect(Self.xeon.level == .avx512)
        #expect(Self.zen2.level == .avx2)
        #expect(Self.old.level == .sse)
        var partial = Self.xeon
        partial.avx512bw = false  // AVX-512F alone (Knights Landing) is not the level the kernels target
        #expect(partial.level == .avx2)
    }

    /// cpuid as read here agrees with the flags Linux reports for this machine.
    @Test func cpuidAgreesWithProcCpuinfo() throws {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flagsLine = try #require(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(flagsLine.split(separator: ":")[1].split(separator: " ").map(String.init))
        let cpu = CPUFeatures.current
        #expect(cpu.avx2 == flags.contains("avx2"))
        #expect(cpu.fma == flags.contains("fma"))
        #expect(cpu.avx512f == flags.contains("avx512f"))
        #expect(cpu.avx512bw == flags.contains("avx512bw"))
        #expect(!cpu.vendor.isEmpty)
    }
}
