import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// The vector width the engine's own kernels (CKernels) run at. Chosen once per process from what
/// the CPU and OS support (cpuid/xgetbv), the widest first; the environment variable
/// `BOUNDARY_KERNELS=portable|avx2|avx512` lowers it (a level the CPU lacks falls back to the best
/// it has). Every kernel is the same template compiled at each width, so a level only changes speed.
public enum KernelLevel: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// 4 lanes, no FMA: any x86-64.
    case portable = 0
    /// 8 lanes with FMA.
    case avx2 = 1
    /// 16 lanes with FMA (AVX-512 F/BW/VL/DQ).
    case avx512 = 2

    /// The level this process runs at.
    public static let current: KernelLevel = KernelLevel(rawValue: Int(bk_default_level().rawValue)) ?? .portable

    /// Every level this machine can run (tests run each kernel at all of them).
    public static var supported: [KernelLevel] { allCases.filter(\.isSupported) }

    public var isSupported: Bool { bk_level_supported(raw) != 0 }

    /// Floats per vector.
    public var lanes: Int { Int(bk_level_lanes(raw)) }

    public var description: String { String(cString: bk_level_name(raw)) }

    /// One line for logs and benchmarks: the level in use and what else this machine could run.
    public static var summary: String {
        let forced = ProcessEnvironment.kernels.map { " (BOUNDARY_KERNELS=\($0))" } ?? ""
        return "kernels CKernels \(current), \(current.lanes) lanes\(forced); supported: "
            + supported.map(\.description).joined(separator: " ")
    }

    var raw: bk_level { bk_level(rawValue: UInt32(rawValue)) }
}

private enum ProcessEnvironment {
    static var kernels: String? { getenv("BOUNDARY_KERNELS").map { String(cString: $0) } }
}
