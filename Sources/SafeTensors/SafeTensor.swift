/// One tensor as the serving engine uses it: a row-major `Float` array plus its shape.
///
/// `Equatable` is the synthesized one, i.e. IEEE comparison of `values`
/// (`NaN != NaN`, `-0.0 == 0.0`). Compare `bitPattern`s when bit-exactness matters.
public struct SafeTensor: Sendable, Equatable {
    /// Dimension sizes, outermost first. `[]` is a scalar (one element).
    public var shape: [Int]
    /// Elements in row-major (C) order; `values.count` must equal the product of `shape`.
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }

    /// Product of `shape`, or `nil` if a dimension is negative or the product overflows `Int`.
    public var expectedElementCount: Int? { Self.elementCount(of: shape) }

    static func elementCount(of shape: [Int]) -> Int? {
        var count = 1
        for dim in shape {
            guard dim >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }
}
