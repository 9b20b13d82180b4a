/// Everything that can be wrong with a safetensors file or archive.
///
/// Each case names the tensor and the numbers involved, because the person
/// reading the message is usually an operator with a bad checkpoint and no
/// debugger; "invalid file" tells them nothing, "tensor 'conv1.weight' runs
/// past the end of the buffer" tells them the upload was cut short.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Fewer than the 8 bytes needed for the header-length prefix.
    case fileTooSmall(byteCount: Int)
    /// The declared header length exceeds `SafeTensorsArchive.maximumHeaderByteCount`;
    /// refused before allocating anything. `available` is what the file holds after the prefix.
    case headerLengthOutOfRange(declared: UInt64, available: Int)
    /// The header length is plausible but the file ends before the header does.
    case truncated(declaredHeaderByteCount: Int, available: Int)
    /// The header bytes are not a JSON object (bad UTF-8, syntax error, wrong top-level type).
    case headerNotJSON(reason: String)
    /// A header entry is structurally wrong (missing field, wrong JSON type, negative dim...).
    /// `name` is the tensor name, or `"__metadata__"` for the metadata block.
    case invalidEntry(name: String, reason: String)
    /// A dtype this module does not convert to `Float` (only F32, F16, BF16, F64 are read).
    case unsupportedDType(name: String, dtype: String)
    /// `shape` × size-of(`dtype`) differs from the tensor's `byteCount`.
    case shapeSizeMismatch(name: String, shape: [Int], dtype: String, byteCount: Int)
    /// `data_offsets` reversed or beyond the end of the data buffer.
    case offsetsOutOfRange(name: String, begin: Int, end: Int, bufferSize: Int)
    /// Tensors, sorted by offset, must tile the buffer from 0 with no holes or overlap.
    case overlappingOrGappedTensors(name: String, begin: Int, expectedBegin: Int)
    /// Bytes after the last tensor that no header entry accounts for.
    case trailingBytes(count: Int, bufferSize: Int)
    /// `require(_:shape:)`: no tensor of that name.
    case missingTensor(name: String)
    /// `require(_:shape:)`: the tensor exists with a different shape.
    case shapeMismatch(name: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .fileTooSmall(let n):
            return "safetensors file is only \(n) byte\(n == 1 ? "" : "s"); at least 8 are needed for the header length — the file is empty, truncated or not a safetensors file"
        case .headerLengthOutOfRange(let declared, let available):
            return "safetensors header length prefix declares \(declared) bytes, more than the \(SafeTensorsArchive.maximumHeaderByteCount)-byte limit (the file holds \(available) bytes after the prefix) — the file is corrupt or not a safetensors file"
        case .truncated(let declared, let available):
            return "safetensors header declares \(declared) bytes but only \(available) follow the 8-byte length prefix — the file is truncated"
        case .headerNotJSON(let reason):
            return "safetensors header is not a valid JSON object: \(reason)"
        case .invalidEntry(let name, let reason):
            return name == "__metadata__"
                ? "checkpoint metadata (__metadata__): \(reason)"
                : "checkpoint tensor '\(name)': \(reason)"
        case .unsupportedDType(let name, let dtype):
            let supported = DType.allCases.map(\.rawValue).joined(separator: ", ")
            return "checkpoint tensor '\(name)': dtype \"\(dtype)\" is not supported (readable: \(supported))"
        case .shapeSizeMismatch(let name, let shape, let dtype, let byteCount):
            return "checkpoint tensor '\(name)': shape \(shape) of \(dtype) does not match its \(byteCount) bytes of data"
        case .offsetsOutOfRange(let name, let begin, let end, let size):
            return begin > end
                ? "checkpoint tensor '\(name)': data_offsets [\(begin), \(end)] end before they begin — the file is corrupt"
                : "checkpoint tensor '\(name)': data_offsets [\(begin), \(end)] run past the end of the \(size)-byte buffer — the file is truncated or corrupt"
        case .overlappingOrGappedTensors(let name, let begin, let expected):
            return begin < expected
                ? "checkpoint tensor '\(name)': data starts at byte \(begin), overlapping the previous tensor which ends at \(expected) — the file is corrupt"
                : "checkpoint tensor '\(name)': data starts at byte \(begin), leaving a gap after byte \(expected) — the file is corrupt"
        case .trailingBytes(let count, let size):
            return "safetensors data buffer has \(count) unaccounted byte\(count == 1 ? "" : "s") after the last tensor (buffer is \(size) bytes) — the file is corrupt"
        case .missingTensor(let name):
            return "checkpoint has no tensor named '\(name)' — wrong checkpoint for this model?"
        case .shapeMismatch(let name, let expected, let found):
            return "checkpoint tensor '\(name)' has shape \(found), but the model expects \(expected) — wrong checkpoint for this model?"
        }
    }
}
