/// Writes the JSON header byte-for-byte the way the reference implementation
/// (Rust `safetensors` via `serde_json`) does, so files we write are identical
/// to ones Python's `safetensors.numpy.save` produces for the same F32 tensors.
///
/// Hand-rolled instead of `JSONSerialization`/`JSONEncoder` because those
/// neither guarantee key order nor escape strings like serde_json (they escape
/// `/`), and byte-identical output for identical input is a requirement.
enum HeaderEncoding {
    struct Entry {
        var name: String
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    /// `{"__metadata__":{...},"name":{"dtype":"F32","shape":[..],"data_offsets":[b,e]},...}`
    /// padded with spaces so that the header length is a multiple of 8 (keeps the
    /// data buffer 8-byte aligned for memory-mapping readers).
    /// `entries` must already be in the desired order; metadata keys are sorted
    /// by UTF-8 bytes here (the reference leaves them in hash order, which is only
    /// equivalent when there is at most one key).
    static func header(entries: [Entry], metadata: [String: String]) -> [UInt8] {
        var out: [UInt8] = []
        out.append(UInt8(ascii: "{"))
        var first = true
        func separator() {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
        }
        if !metadata.isEmpty {
            separator()
            appendString("__metadata__", to: &out)
            out.append(contentsOf: Array(":{".utf8))
            for (index, key) in metadata.keys.sorted(by: utf8Less).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                appendString(metadata[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        for entry in entries {
            separator()
            appendString(entry.name, to: &out)
            out.append(contentsOf: Array(":{\"dtype\":\"F32\",\"shape\":[".utf8))
            out.append(contentsOf: Array(entry.shape.map(String.init).joined(separator: ",").utf8))
            out.append(contentsOf: Array("],\"data_offsets\":[\(entry.begin),\(entry.end)]}".utf8))
        }
        out.append(UInt8(ascii: "}"))
        let padding = (8 - out.count % 8) % 8
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))
        return out
    }

    /// Byte-wise (UTF-8) ordering, as Rust's `String` `Ord` uses. Swift's `<` on
    /// `String` compares by Unicode canonical equivalence, which can differ.
    static func utf8Less(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// A JSON string literal escaped exactly like serde_json's compact formatter.
    static func appendString(_ string: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
