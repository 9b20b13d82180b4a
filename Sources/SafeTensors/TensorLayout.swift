/// A header entry that has passed every check that does not need the data:
/// known dtype, sane shape, offsets inside the buffer and consistent with the shape.
///
/// All arithmetic on header-supplied numbers is overflow-checked, and nothing
/// is allocated from them until they are proven to lie inside the bytes we
/// already hold, so a hostile header cannot make us trap or allocate wildly.
struct TensorLayout {
    var name: String
    var dtype: DType
    var shape: [Int]
    var elementCount: Int
    var begin: Int
    var end: Int

    init(name: String, entry: RawHeader.Entry, bufferSize: Int) throws {
        guard let dtype = DType(rawValue: entry.dtype) else {
            throw SafeTensorsError.unsupportedDType(name: name, dtype: entry.dtype)
        }
        guard entry.dataOffsets.count == 2 else {
            throw SafeTensorsError.invalidEntry(name: name, reason: "data_offsets must be [begin, end], found \(entry.dataOffsets.count) number(s)")
        }
        let begin = entry.dataOffsets[0], end = entry.dataOffsets[1]
        guard begin >= 0, end >= 0 else {
            throw SafeTensorsError.invalidEntry(name: name, reason: "data_offsets \(entry.dataOffsets) contain a negative offset")
        }
        guard let count = SafeTensor.elementCount(of: entry.shape) else {
            throw SafeTensorsError.invalidEntry(name: name, reason: "shape \(entry.shape) has a negative dimension or too many elements")
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        // A reversed range is reported as out of range, not as a size mismatch.
        guard begin <= end, end <= bufferSize else {
            throw SafeTensorsError.offsetsOutOfRange(name: name, begin: begin, end: end, bufferSize: bufferSize)
        }
        guard !overflow, byteCount == end - begin else {
            throw SafeTensorsError.shapeSizeMismatch(name: name, shape: entry.shape, dtype: entry.dtype, byteCount: end - begin)
        }
        self.name = name
        self.dtype = dtype
        self.shape = entry.shape
        self.elementCount = count
        self.begin = begin
        self.end = end
    }

    /// The spec requires the tensors, in offset order, to tile the buffer
    /// exactly: starting at 0, each beginning where the previous one ends, the
    /// last ending at the buffer's end. Holes or overlaps mean corruption (or a
    /// hand-crafted file aliasing data), so both are refused.
    static func checkCoverage(_ layouts: [TensorLayout], bufferSize: Int) throws {
        // Ties (empty tensors share an offset) are broken by end, then name, for determinism.
        let ordered = layouts.sorted {
            ($0.begin, $0.end) != ($1.begin, $1.end)
                ? ($0.begin, $0.end) < ($1.begin, $1.end)
                : HeaderEncoding.utf8Less($0.name, $1.name)
        }
        var expected = 0
        for layout in ordered {
            guard layout.begin == expected else {
                throw SafeTensorsError.overlappingOrGappedTensors(name: layout.name, begin: layout.begin, expectedBegin: expected)
            }
            expected = layout.end
        }
        guard expected == bufferSize else {
            throw SafeTensorsError.trailingBytes(count: bufferSize - expected, bufferSize: bufferSize)
        }
    }
}
