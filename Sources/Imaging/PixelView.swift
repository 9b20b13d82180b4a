/// Read-only access to an image's pixels in *display* orientation over the
/// stored bytes, via an origin and two byte strides. All eight EXIF
/// orientations are affine index maps, so rotating/mirroring costs nothing
/// here: the resampler just walks memory in a different order, and no
/// rotated copy of the decoded buffer is ever made.
struct PixelView {
    let base: UnsafePointer<UInt8>
    /// Display dimensions.
    let width: Int
    let height: Int
    let origin: Int
    let dx: Int
    let dy: Int

    init(base: UnsafePointer<UInt8>, storedWidth sw: Int, storedHeight sh: Int, orientation: ExifOrientation) {
        self.base = base
        if orientation.swapsDimensions { width = sh; height = sw } else { width = sw; height = sh }
        func offset(_ x: Int, _ y: Int) -> Int {
            let s = orientation.storedCoordinate(displayX: x, displayY: y, storedWidth: sw, storedHeight: sh)
            return (s.y * sw + s.x) * 3
        }
        // The maps are affine, so evaluating at (1,0)/(0,1) is valid even when
        // those points lie outside a 1-pixel-wide image.
        origin = offset(0, 0)
        dx = offset(1, 0) - origin
        dy = offset(0, 1) - origin
    }

    @inline(__always) func offset(x: Int, y: Int) -> Int { origin + x * dx + y * dy }
}

extension OrientedImage {
    /// Calls `body` with a display-oriented view of the stored pixels.
    func withView<R>(_ body: (PixelView) throws -> R) rethrows -> R {
        try stored.pixels.withUnsafeBufferPointer { buf in
            // Non-empty by construction (decoders reject 0-pixel images).
            guard let base = buf.baseAddress else { preconditionFailure("empty RGBImage") }
            return try body(PixelView(base: base, storedWidth: stored.width,
                                      storedHeight: stored.height, orientation: orientation))
        }
    }

    /// Materialises the display-oriented image (one copy; identity is free).
    func displayImage() -> RGBImage {
        if orientation == .up { return stored }
        return withView { view in
            let count = view.width * view.height * 3
            let out = [UInt8](unsafeUninitializedCapacity: count) { dst, initialized in
                var i = 0
                for y in 0..<view.height {
                    for x in 0..<view.width {
                        let o = view.offset(x: x, y: y)
                        dst[i] = view.base[o]; dst[i + 1] = view.base[o + 1]; dst[i + 2] = view.base[o + 2]
                        i += 3
                    }
                }
                initialized = count
            }
            return RGBImage(uncheckedWidth: view.width, height: view.height, pixels: out)
        }
    }
}

extension RGBImage {
    /// Calls `body` with an upright view of this image.
    func withView<R>(_ body: (PixelView) throws -> R) rethrows -> R {
        try OrientedImage(stored: self, orientation: .up).withView(body)
    }
}
