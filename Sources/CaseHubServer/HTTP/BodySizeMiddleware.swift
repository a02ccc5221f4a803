import CaseHubCore
import Hummingbird

/// Answers 413 to any request that declares a body over the upload limit (1 MiB), whether or
/// not its route reads a body, before the body is read or the caller looked up. Routes that
/// read a body also count what arrives, which catches chunked bodies that declare no length.
struct BodySizeMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers.first(.contentLength).flatMap({ Int($0) }), length > context.maxUploadSize {
            throw RequestBody.tooLarge
        }
        return try await next(request, context)
    }
}
