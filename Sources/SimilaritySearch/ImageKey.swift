/// An image id (the SHA-256 of its bytes as 64 lower-case hex digits) in 32 bytes: an index of a
/// million images keeps 32 MB of keys instead of a heap-allocated string each.
public struct ImageKey: Hashable, Sendable, CustomStringConvertible {
    private let words: (UInt64, UInt64, UInt64, UInt64)

    /// nil unless `hex` is exactly 64 hex digits.
    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var words: [UInt64] = []
        for part in 0..<4 {
            var value: UInt64 = 0
            for byte in utf8[part * 16..<(part + 1) * 16] {
                guard let digit = Self.digit(byte) else { return nil }
                value = value << 4 | UInt64(digit)
            }
            words.append(value)
        }
        self.words = (words[0], words[1], words[2], words[3])
    }

    public var description: String {
        [words.0, words.1, words.2, words.3].map { word in
            let text = String(word, radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }.joined()
    }

    public static func == (a: ImageKey, b: ImageKey) -> Bool { a.words == b.words }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    private static func digit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
