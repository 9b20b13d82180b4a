extension Array where Element == UInt8 {
    /// `withUnsafeBytes` that preserves the typed `ImagingError` (the standard
    /// library version is `rethrows`, which widens to `any Error`).
    func withImagingBytes<R>(_ body: (UnsafeRawBufferPointer) throws(ImagingError) -> R) throws(ImagingError) -> R {
        let result: Result<R, ImagingError> = withUnsafeBytes { raw in
            Result { () throws(ImagingError) -> R in try body(raw) }
        }
        return try result.get()
    }
}
