import Foundation

/// Parses the JSON header into raw, not yet validated entries.
///
/// `JSONDecoder` does the parsing (it rejects bad UTF-8, syntax errors,
/// non-integer or out-of-range numbers, and bounds nesting depth); this type
/// only turns its errors into `SafeTensorsError`s that name the tensor.
struct RawHeader: Decodable {
    struct Entry: Decodable {
        var dtype: String
        var shape: [Int]
        var dataOffsets: [Int]

        enum CodingKeys: String, CodingKey {
            case dtype, shape
            case dataOffsets = "data_offsets"
        }

        /// Decodes field by field so a bad number (which Foundation reports
        /// without a coding path) is still attributed to its field.
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            func field<T: Decodable>(_ key: CodingKeys, _ type: T.Type, _ expectation: String) throws -> T {
                do {
                    return try container.decode(type, forKey: key)
                } catch DecodingError.keyNotFound(let missing, _) {
                    throw FieldError(reason: "missing field \"\(missing.stringValue)\"")
                } catch {
                    throw FieldError(reason: "field \"\(key.rawValue)\" must be \(expectation) (\(RawHeader.describe(error)))")
                }
            }
            dtype = try field(.dtype, String.self, "a dtype string such as \"F32\"")
            shape = try field(.shape, [Int].self, "an array of integers")
            dataOffsets = try field(.dataOffsets, [Int].self, "an array of two integer byte offsets")
        }
    }

    /// A complete, human-readable reason for one bad entry field.
    struct FieldError: Error {
        var reason: String
    }

    /// Sorted by name (UTF-8 order) so that, with several bad entries, the
    /// same one is always reported.
    var entries: [(name: String, entry: Entry)] = []
    var metadata: [String: String] = [:]

    static let metadataKey = "__metadata__"

    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> RawHeader {
        do {
            return try JSONDecoder().decode(RawHeader.self, from: Data(bytes))
        } catch let error as SafeTensorsError {
            throw error
        } catch {
            throw SafeTensorsError.headerNotJSON(reason: "\(describe(error)) — header starts with \(preview(bytes))")
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: NameKey.self)
        for key in container.allKeys.sorted(by: { HeaderEncoding.utf8Less($0.stringValue, $1.stringValue) }) {
            let name = key.stringValue
            do {
                if name == Self.metadataKey {
                    if try container.decodeNil(forKey: key) { continue }
                    metadata = try container.decode([String: String].self, forKey: key)
                } else {
                    entries.append((name, try container.decode(Entry.self, forKey: key)))
                }
            } catch {
                throw SafeTensorsError.invalidEntry(name: name, reason: Self.describe(error))
            }
        }
    }

    /// The first bytes of a bad header, printable, so a human can recognise
    /// what the file really is (an HTML error page, a pickle, a text file...).
    static func preview(_ bytes: UnsafeRawBufferPointer, limit: Int = 40) -> String {
        if bytes.isEmpty { return "(empty)" }
        let shown = bytes.prefix(limit).map { byte -> String in
            (0x20 ..< 0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
        }.joined()
        return "\"\(shown)\"" + (bytes.count > limit ? "…" : "")
    }

    /// A one-line explanation of a decoding failure, e.g. `field "shape": expected Array<Int>`.
    static func describe(_ error: any Error) -> String {
        if let error = error as? FieldError { return error.reason }
        guard let error = error as? DecodingError else { return String(describing: error) }
        func field(_ path: [any CodingKey]) -> String {
            // Drop the tensor-name key: the caller already reports it.
            let parts = path.dropFirst().map { $0.intValue.map { "[\($0)]" } ?? "\"\($0.stringValue)\"" }
            return parts.isEmpty ? "" : "at \(parts.joined(separator: "")): "
        }
        func json(_ type: Any.Type) -> String {
            switch String(describing: type) {
            case let name where name.hasPrefix("Dictionary"): "a JSON object"
            case let name where name.hasPrefix("Array"): "a JSON array"
            case "Int": "an integer"
            case "String": "a string"
            case let name: name
            }
        }
        switch error {
        case .keyNotFound(let key, _):
            return "missing field \"\(key.stringValue)\""
        case .typeMismatch(let type, let context):
            return "\(field(context.codingPath))expected \(json(type))"
        case .valueNotFound(let type, let context):
            return "\(field(context.codingPath))expected \(json(type)), found null"
        case .dataCorrupted(let context):
            var text = field(context.codingPath) + context.debugDescription
            if let underlying = context.underlyingError { text += " (\(underlying))" }
            return text
        @unknown default:
            return String(describing: error)
        }
    }
}

/// Any JSON object key: tensor names are arbitrary strings.
struct NameKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
