/// A value a client sent, as an error message may quote it: whole when short, otherwise cut and
/// followed by its length, so a 100 KB model name cannot make a reply's status message (and so
/// its trailers) too large for the client to accept.
public enum EchoedValue {
    /// Characters of a client's value an error message repeats.
    public static let limit = 64

    /// `'value'`, or `'first 64 characters…' (N bytes)` for longer values.
    public static func quoted(_ value: some StringProtocol) -> String {
        guard value.count > limit else { return "'\(value)'" }
        return "'\(value.prefix(limit))…' (\(value.utf8.count) bytes)"
    }
}
