/// Conversions between the public NCHW layout and the engine's internal [C, N, H, W].
public enum Layout {
    /// src [N, C, P] → dst [C, N, P] (P = H·W). The same function converts back with n and c swapped.
    public static func swapLeadingAxes(
        _ src: UnsafePointer<Float>, outer: Int, inner: Int, plane: Int, into dst: UnsafeMutablePointer<Float>
    ) {
        for a in 0..<outer {
            for b in 0..<inner {
                (dst + (b * outer + a) * plane).update(from: src + (a * inner + b) * plane, count: plane)
            }
        }
    }
}
