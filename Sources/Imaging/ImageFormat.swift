/// Container formats the decoder understands.
public enum ImageFormat: String, Sendable, Equatable {
    case jpeg
    case png

    /// Identifies the format from magic bytes only. File names and MIME types
    /// from clients are untrusted and often wrong, so they are never consulted.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF {
            return .jpeg
        }
        let pngMagic: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        if bytes.count >= pngMagic.count {
            var match = true
            for i in 0..<pngMagic.count where bytes[i] != pngMagic[i] { match = false }
            if match { return .png }
        }
        return nil
    }

    public static func sniff(_ bytes: [UInt8]) -> ImageFormat? {
        bytes.withUnsafeBytes { sniff($0) }
    }
}
