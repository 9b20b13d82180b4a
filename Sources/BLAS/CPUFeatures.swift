import CCPUID

/// What this CPU can run, as the engine's kernels and OpenBLAS's core choice need to know.
public struct CPUFeatures: Sendable, Equatable, CustomStringConvertible {
    /// The widest vector instruction set usable here (CPU and OS both), in increasing order.
    public enum Level: Int, Sendable, Comparable, CustomStringConvertible {
        case sse = 0, avx, avx2, avx512

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        public var description: String {
            switch self {
            case .sse: "SSE"
            case .avx: "AVX"
            case .avx2: "AVX2+FMA"
            case .avx512: "AVX-512 (F/BW/VL/DQ)"
            }
        }
    }

    public var vendor: String
    public var brand: String
    public var avx: Bool
    public var avx2: Bool
    public var fma: Bool
    public var avx512f: Bool
    public var avx512bw: Bool
    public var avx512vl: Bool
    public var avx512dq: Bool

    public init(vendor: String, brand: String = "", avx: Bool = false, avx2: Bool = false, fma: Bool = false,
                avx512f: Bool = false, avx512bw: Bool = false, avx512vl: Bool = false, avx512dq: Bool = false) {
        self.vendor = vendor
        self.brand = brand
        self.avx = avx
        self.avx2 = avx2
        self.fma = fma
        self.avx512f = avx512f
        self.avx512bw = avx512bw
        self.avx512vl = avx512vl
        self.avx512dq = avx512dq
    }

    /// This machine's features, read once.
    public static let current: CPUFeatures = {
        var raw = ccpuid_features()
        ccpuid_read(&raw)
        func text<T>(_ tuple: T) -> String {
            withUnsafeBytes(of: tuple) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: " ")
            }
        }
        return CPUFeatures(vendor: text(raw.vendor), brand: text(raw.brand), avx: raw.avx != 0, avx2: raw.avx2 != 0,
                           fma: raw.fma != 0, avx512f: raw.avx512f != 0, avx512bw: raw.avx512bw != 0,
                           avx512vl: raw.avx512vl != 0, avx512dq: raw.avx512dq != 0)
    }()

    public var level: Level {
        if avx512f && avx512bw && avx512vl && avx512dq { return .avx512 }
        if avx2 && fma { return .avx2 }
        return avx ? .avx : .sse
    }

    public var isAMD: Bool { vendor == "AuthenticAMD" || vendor == "HygonGenuine" }

    public var description: String {
        let flags = [("avx", avx), ("avx2", avx2), ("fma", fma), ("avx512f", avx512f), ("avx512bw", avx512bw),
                     ("avx512vl", avx512vl), ("avx512dq", avx512dq)].filter(\.1).map(\.0)
        return "\(brand.isEmpty ? vendor : brand) [\(flags.isEmpty ? "no AVX" : flags.joined(separator: " "))]"
    }
}

private extension String {
    func trimmingCharacters(in set: Character) -> String {
        var text = Substring(self)
        while text.first == set { text = text.dropFirst() }
        while text.last == set { text = text.dropLast() }
        return String(text)
    }
}
