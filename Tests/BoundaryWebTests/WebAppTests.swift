import BoundaryTestSupport
import Foundation
import HTTPTypes
import Testing
@testable import BoundaryWeb

/// The web app is served from the binary with headers that keep hostile labels inert, and /metrics
/// lives on the same server.
@Suite struct WebAppTests {
    @Test func theAppIsServedWithAContentSecurityPolicyAndRevalidates() async throws {
        let harness = try await WebHarness()
        try await harness.run { http, _ in
            let page = try await http.call(.get, "/")
            #expect(page.status == 200 && page.headers[.contentType] == "text/html; charset=utf-8")
            let csp = try #require(page.headers[HTTPField.Name("Content-Security-Policy")!])
            #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"))
            #expect(page.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            let etag = try #require(page.headers[.eTag])
            #expect(try await http.call(.get, "/", headers: [.ifNoneMatch: etag]).status == 304)
            for name in WebAssets.embedded.keys where name.hasSuffix(".js") {
                let script = try await http.call(.get, "/\(name)")
                #expect(script.status == 200 && script.headers[.contentType] == "text/javascript; charset=utf-8", "\(name)")
            }
            _ = try await http.call(.get, "/v1/models")
            _ = try await http.call(.get, "/v1/models/nope")
            let metrics = try await http.call(.get, "/metrics")
            #expect(metrics.status == 200 && metrics.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(metrics.text.contains("boundary_serving_version"))
            #expect(metrics.text.contains(#"boundary_http_requests_total{operation="listModels",status="200"} 1"#), "\(metrics.text)")
            #expect(metrics.text.contains(#"boundary_http_requests_total{operation="getModel",status="404"} 1"#))
            #expect(metrics.text.contains(#"boundary_http_duration_seconds_count{operation="listModels",status="200"} 1"#))
        }
    }

    /// scripts/embed-web-assets was run after the last change to the app's files.
    @Test func theEmbeddedAppMatchesItsSourceFiles() throws {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/BoundaryWeb/Resources/web")
        let files = try #require(FileManager.default.enumerator(at: source, includingPropertiesForKeys: nil)?.allObjects as? [URL])
            .filter { !$0.hasDirectoryPath }
        #expect(!files.isEmpty && files.contains { $0.lastPathComponent == "index.html" })
        let prefix = source.resolvingSymlinksInPath().path + "/"
        let onDisk = Dictionary(uniqueKeysWithValues: try files.map { url in
            (url.resolvingSymlinksInPath().path.replacingOccurrences(of: prefix, with: ""), try Data(contentsOf: url))
        })
        let embedded = WebAssets.embedded.mapValues { Data(base64Encoded: $0) ?? Data() }
        #expect(embedded == onDisk, "run scripts/embed-web-assets")
    }
}
