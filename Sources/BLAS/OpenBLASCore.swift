#if canImport(Glibc)
import Glibc
#endif

/// Keeps OpenBLAS off kernels slower than the CPU can run.
///
/// OpenBLAS built with DYNAMIC_ARCH picks its kernels from a CPU table when the library loads,
/// and a build older than the CPU does not know it: Debian 12's 0.3.21 falls back to "Prescott"
/// (SSE3) on some AVX-512 Xeons, and sgemm runs at a third of its speed. The choice is made in the
/// library's constructor, before `main`, and is read from `OPENBLAS_CORETYPE` only then, so the
/// fix is to set that variable and re-execute the process once. A machine OpenBLAS already
/// recognises (its core is at least as capable as the CPU's instruction set) is left alone, and
/// so is an `OPENBLAS_CORETYPE` the user set.
public enum OpenBLASCore {
    /// Set on the re-executed process: the core OpenBLAS had chosen by itself.
    public static let steeredFromVariable = "BOUNDARY_OPENBLAS_STEERED_FROM"
    /// Makes the steering act as if OpenBLAS had chosen this core, so the re-execution can be
    /// exercised (`scripts/check-blas-steering`) on a machine OpenBLAS already recognises.
    public static let assumeCoreVariable = "BOUNDARY_OPENBLAS_ASSUME_CORE"

    /// The vector level of an OpenBLAS core (DYNAMIC_ARCH x86-64 names), nil for names it does not know.
    public static func level(ofCore name: String) -> CPUFeatures.Level? {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": .avx512
        case "haswell", "zen", "excavator", "steamroller", "skylake": .avx2
        case "sandybridge", "bulldozer", "piledriver": .avx
        case "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "coppermine", "northwood",
             "banias", "opteron", "opteron_sse3", "barcelona", "bobcat", "nano", "generic": .sse
        default: nil
        }
    }

    /// The core OpenBLAS should use on `cpu` instead of `chosen`, or nil when `chosen` already
    /// fits (never a step down: a core more capable than the cpuid level, such as Cooperlake on a
    /// Zen 4, is OpenBLAS knowing better).
    public static func better(than chosen: String, on cpu: CPUFeatures) -> String? {
        let have = level(ofCore: chosen) ?? .sse
        guard cpu.level > have else { return nil }
        switch cpu.level {
        case .avx512: return "SkylakeX"
        case .avx2: return cpu.isAMD ? "Zen" : "Haswell"
        case .avx: return "Sandybridge"
        case .sse: return nil
        }
    }

    /// When OpenBLAS chose a core below what this CPU runs and nobody set `OPENBLAS_CORETYPE`,
    /// re-executes this program with it set; returns only when no re-execution is needed (or it
    /// failed, in which case the process carries on with OpenBLAS's own choice).
    public static func steerBeforeWork(arguments: [String] = CommandLine.arguments) {
        #if os(Linux)
        let chosen = getenv(assumeCoreVariable).map { String(cString: $0) } ?? BLAS.coreName
        guard getenv("OPENBLAS_CORETYPE") == nil, getenv(steeredFromVariable) == nil,
              let target = better(than: chosen, on: .current) else { return }
        setenv("OPENBLAS_CORETYPE", target, 1)
        setenv(steeredFromVariable, chosen, 1)
        unsetenv(assumeCoreVariable)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        // Only reached if exec failed: undo, and run on OpenBLAS's own choice.
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(steeredFromVariable)
        #endif
    }

    /// One line for logs and benchmark headers: the CPU, and the core OpenBLAS runs (and why).
    public static var summary: String {
        var line = "CPU \(CPUFeatures.current) level \(CPUFeatures.current.level); OpenBLAS core \(BLAS.coreName)"
        if let from = getenv(steeredFromVariable).map({ String(cString: $0) }) {
            line += " (steered from \(from), which OpenBLAS chose for this CPU)"
        } else if let forced = getenv("OPENBLAS_CORETYPE").map({ String(cString: $0) }) {
            line += " (OPENBLAS_CORETYPE=\(forced) set by the environment)"
        }
        return line
    }
}
