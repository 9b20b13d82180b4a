import DurableIO
import Foundation

/// A whole safetensors file: named tensors plus string→string metadata.
///
/// Format (https://github.com/huggingface/safetensors): 8-byte little-endian
/// header length N, N bytes of UTF-8 JSON header (space-padded), then the data
/// buffer that the header's `data_offsets` index into.
public struct SafeTensorsArchive: Sendable, Equatable {
    /// Headers larger than this are refused before any allocation; the
    /// reference implementation uses the same 100 MB cap.
    public static let maximumHeaderByteCount = 100_000_000

    public var tensors: [String: SafeTensor]
    /// Free-form `__metadata__`; the format only allows string values.
    public var metadata: [String: String]

    public init(tensors: [String: SafeTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Returns the tensor called `name` after checking it has exactly `shape`.
    ///
    /// Model loaders should go through this instead of subscripting `tensors`, so
    /// a checkpoint for a different architecture fails with a message naming the
    /// offending tensor rather than an index-out-of-range crash later.
    public func require(_ name: String, shape: [Int]) throws -> SafeTensor {
        guard let tensor = tensors[name] else { throw SafeTensorsError.missingTensor(name: name) }
        guard tensor.shape == shape else {
            throw SafeTensorsError.shapeMismatch(name: name, expected: shape, found: tensor.shape)
        }
        return tensor
    }

    // MARK: Encoding

    /// The complete file contents, all tensors as little-endian F32.
    ///
    /// Tensors are laid out in UTF-8 order of their names and metadata keys are
    /// sorted, so equal archives always encode to identical bytes.
    /// - Throws: `invalidEntry` for a tensor named `__metadata__` or a negative
    ///   dimension, `shapeSizeMismatch` if `values.count` ≠ product of `shape`.
    public func encoded() throws -> [UInt8] {
        let names = tensors.keys.sorted(by: HeaderEncoding.utf8Less)
        var entries: [HeaderEncoding.Entry] = []
        entries.reserveCapacity(names.count)
        var offset = 0
        for name in names {
            let tensor = tensors[name]!
            guard name != RawHeader.metadataKey else {
                throw SafeTensorsError.invalidEntry(name: name, reason: "\"__metadata__\" is reserved and cannot name a tensor")
            }
            guard let count = tensor.expectedElementCount else {
                throw SafeTensorsError.invalidEntry(name: name, reason: "shape \(tensor.shape) has a negative dimension or too many elements")
            }
            guard count == tensor.values.count else {
                throw SafeTensorsError.shapeSizeMismatch(name: name, shape: tensor.shape, dtype: DType.f32.rawValue,
                                                         byteCount: tensor.values.count * 4)
            }
            entries.append(.init(name: name, shape: tensor.shape, begin: offset, end: offset + count * 4))
            offset += count * 4
        }
        let header = HeaderEncoding.header(entries: entries, metadata: metadata)

        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for name in names { LittleEndianFloat32.append(tensors[name]!.values, to: &out) }
        return out
    }

    /// Encodes and writes atomically via `DurableFile`: a crash mid-write leaves
    /// the previous checkpoint intact.
    public func write(to url: URL) throws {
        try DurableFile.write(try encoded(), to: url)
    }

    // MARK: Decoding

    /// Parses and fully validates a safetensors file image.
    public init(decoding bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try Self.decode($0) }
    }

    /// Reads and decodes the file at `url`. I/O errors are Foundation's
    /// (they name the path); format errors are `SafeTensorsError`.
    public init(contentsOf url: URL) throws {
        let data = try Data(contentsOf: url)
        self = try data.withUnsafeBytes { try Self.decode($0) }
    }

    private static func decode(_ file: UnsafeRawBufferPointer) throws -> SafeTensorsArchive {
        guard file.count >= 8 else { throw SafeTensorsError.fileTooSmall(byteCount: file.count) }
        let declared = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        let available = file.count - 8
        // Compare as UInt64 first: the prefix may not even fit in an Int.
        guard declared <= UInt64(maximumHeaderByteCount) else {
            throw SafeTensorsError.headerLengthOutOfRange(declared: declared, available: available)
        }
        let headerLength = Int(declared)
        guard headerLength <= available else {
            throw SafeTensorsError.truncated(declaredHeaderByteCount: headerLength, available: available)
        }
        let header = try RawHeader.parse(UnsafeRawBufferPointer(rebasing: file[8 ..< 8 + headerLength]))
        let buffer = UnsafeRawBufferPointer(rebasing: file[(8 + headerLength)...])

        let layouts = try header.entries.map { try TensorLayout(name: $0.name, entry: $0.entry, bufferSize: buffer.count) }
        try TensorLayout.checkCoverage(layouts, bufferSize: buffer.count)

        var tensors: [String: SafeTensor] = [:]
        tensors.reserveCapacity(layouts.count)
        for layout in layouts {
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[layout.begin ..< layout.end])
            tensors[layout.name] = SafeTensor(shape: layout.shape,
                                              values: layout.dtype.decode(bytes, count: layout.elementCount))
        }
        return SafeTensorsArchive(tensors: tensors, metadata: header.metadata)
    }
}
