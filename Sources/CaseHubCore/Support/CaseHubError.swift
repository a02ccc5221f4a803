/// An error a caller can act on. The server target maps each code to an HTTP status and the
/// API's error shape; the CLI prints the message as one line.
///
/// A struct around a private code enum (as Hummingbird's `PersistError`) so codes can be added
/// without breaking callers that switch over them.
public struct CaseHubError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: String, Sendable {
        case unauthorized, forbidden, notFound = "not_found", invalidRequest = "invalid_request"
        case conflict, payloadTooLarge = "payload_too_large", unsupportedMediaType = "unsupported_media_type"
        case rateLimited = "rate_limited"
    }

    private let code: Code
    public let message: String
    /// For `rate_limited`: when the caller may try again, in seconds (HTTP `Retry-After`).
    public let retryAfterSeconds: Int?

    private init(_ code: Code, _ message: String, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The API's snake_case error code.
    public var name: String { code.rawValue }
    public var description: String { message }

    public static func unauthorized(_ message: String = "a valid bearer token is required") -> Self { .init(.unauthorized, message) }
    public static func forbidden(_ message: String) -> Self { .init(.forbidden, message) }
    public static func notFound(_ message: String) -> Self { .init(.notFound, message) }
    /// `field` is named in the message, as the API promises for 400 answers.
    public static func invalidRequest(field: String, _ problem: String) -> Self { .init(.invalidRequest, "\(field): \(problem)") }
    public static func invalidRequest(_ message: String) -> Self { .init(.invalidRequest, message) }
    public static func conflict(_ message: String) -> Self { .init(.conflict, message) }
    public static func payloadTooLarge(_ message: String) -> Self { .init(.payloadTooLarge, message) }
    public static func unsupportedMediaType(_ message: String) -> Self { .init(.unsupportedMediaType, message) }
    public static func rateLimited(_ message: String, retryAfterSeconds: Int) -> Self {
        .init(.rateLimited, message, retryAfterSeconds: retryAfterSeconds)
    }

    public static let caseNotFound = notFound("no such case")
    public static let threadNotFound = notFound("no such thread")
    public static let messageNotFound = notFound("no such message")
    public static let caseClosed = conflict("the case is closed")
}
