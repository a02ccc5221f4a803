import CaseHubCore
import Hummingbird
import Logging

/// Turns every error into the API's error shape, `{"error": {"code", "message"}}`.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The router's routes, to tell a wrong method (405) from a missing path (404); nil
    /// answers 404 for both, as Hummingbird does.
    var allowedMethods: AllowedMethods?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && context.coreContext.endpointPath.value == "NotFound" {
            // No route for this method and path; another method may have one.
            let allowed = allowedMethods?.methods(for: request.uri.path) ?? []
            guard !allowed.isEmpty else { return Response.error(status: .notFound, code: "not_found", message: Self.message(of: .notFound)) }
            let list = allowed.map(\.rawValue).joined(separator: ", ")
            var response = Response.error(
                status: .methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed here; allowed: \(list)")
            response.headers[.allow] = list
            return response
        } catch let error as CaseHubError {
            var response = Response.error(status: Self.status(of: error), code: error.name, message: error.message)
            if error.name == "unauthorized" {
                response.headers[.wwwAuthenticate] = "Bearer"
            }
            if let seconds = error.retryAfterSeconds {
                response.headers[.retryAfter] = String(seconds)
            }
            return response
        } catch let error as HTTPError {
            return Response.error(status: error.status, code: Self.code(of: error.status), message: error.body ?? Self.message(of: error.status))
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return Response.error(status: .internalServerError, code: "internal_error", message: "the hub could not complete the request")
        }
    }

    static func status(of error: CaseHubError) -> HTTPResponse.Status {
        switch error.name {
        case "unauthorized": .unauthorized
        case "forbidden": .forbidden
        case "not_found": .notFound
        case "invalid_request": .badRequest
        case "conflict": .conflict
        case "payload_too_large": .contentTooLarge
        case "unsupported_media_type": .unsupportedMediaType
        case "rate_limited": .tooManyRequests
        default: .internalServerError
        }
    }

    static func code(of status: HTTPResponse.Status) -> String {
        switch status {
        case .badRequest: "invalid_request"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .conflict: "conflict"
        case .contentTooLarge: "payload_too_large"
        case .unsupportedMediaType: "unsupported_media_type"
        case .tooManyRequests: "rate_limited"
        case .serviceUnavailable: "unavailable"
        default: status.code >= 500 ? "internal_error" : "invalid_request"
        }
    }

    static func message(of status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "no such resource"
        case .methodNotAllowed: "this method is not allowed on this resource"
        case .contentTooLarge: "the request body is larger than 1 MiB"
        default: status.reasonPhrase
        }
    }
}
