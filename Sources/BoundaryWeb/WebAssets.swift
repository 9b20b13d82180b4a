import Foundation
import Hummingbird

/// The review web app's files, decoded once from the copies embedded in the binary
/// (``embedded``, written by scripts/embed-web-assets), with their content types and ETags.
struct WebAssets: Sendable {
    struct Asset: Sendable {
        let bytes: ByteBuffer
        let contentType: String
        /// Changes whenever the bytes do, so browsers revalidate cheaply (`no-cache` + If-None-Match).
        let etag: String
    }

    let files: [String: Asset]

    static func decoded() -> WebAssets {
        var files: [String: Asset] = [:]
        for (name, base64) in embedded {
            guard let data = Data(base64Encoded: base64) else { preconditionFailure("embedded asset \(name) is not base64") }
            files[name] = Asset(bytes: ByteBuffer(bytes: data), contentType: contentType(of: name), etag: etag(of: data))
        }
        return WebAssets(files: files)
    }

    static func contentType(of name: String) -> String {
        switch name.split(separator: ".").last.map(String.init) {
        case "html": "text/html; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        case "json": "application/json"
        default: "application/octet-stream"
        }
    }

    /// FNV-1a over the bytes: a validator, not a security measure.
    static func etag(of data: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "\"" + String(hash, radix: 16) + "\""
    }

    /// `GET /` and `GET /NAME` for every file.
    func register<Context: RequestContext>(on router: Router<Context>) {
        for (name, asset) in files {
            let handler: @Sendable (Request, Context) async throws -> Response = { request, _ in
                var headers: HTTPFields = [.contentType: asset.contentType, .eTag: asset.etag, .cacheControl: "no-cache"]
                if request.headers[.ifNoneMatch] == asset.etag {
                    headers[.contentType] = nil
                    return Response(status: .notModified, headers: headers)
                }
                headers[.contentLength] = String(asset.bytes.readableBytes)
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.bytes))
            }
            router.get(RouterPath(name), use: handler)
            if name == "index.html" { router.get("/", use: handler) }
        }
    }
}
