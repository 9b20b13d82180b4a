import Foundation
import HTTPTypes
import Hummingbird

/// Headers every response carries, and JSON bodies for the router's own 404/405 so API clients
/// get the same error shape as from the operations.
struct SecurityHeaders<Context: RequestContext>: RouterMiddleware {
    /// The app is same-origin scripts and styles only; thumbnails arrive as blob: URLs. No inline
    /// code, so an HTML-looking label can never run.
    static var contentSecurityPolicy: String {
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
            + "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed {
            let notFound = error.status == .notFound
            let message = notFound
                ? "no such path: \(request.method) \(request.uri.path.prefix(200)); the API is described in openapi/boundary.yaml"
                : "\(request.method) is not allowed on \(request.uri.path.prefix(200))"
            let body = try JSONEncoder().encode(["code": notFound ? "not_found" : "invalid_argument", "message": message])
            response = Response(status: error.status, headers: [.contentType: "application/json; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        response.headers[SecurityHeaderNames.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[SecurityHeaderNames.contentTypeOptions] = "nosniff"
        response.headers[SecurityHeaderNames.referrerPolicy] = "no-referrer"
        response.headers[SecurityHeaderNames.frameOptions] = "DENY"
        return response
    }
}

enum SecurityHeaderNames {
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!
    static let contentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let frameOptions = HTTPField.Name("X-Frame-Options")!
}
