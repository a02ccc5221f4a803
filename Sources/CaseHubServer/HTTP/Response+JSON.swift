import CaseHubCore
import Hummingbird

extension Response {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        // JSON already written (a message as stored) goes out as it is, copied once.
        if case .canonical(let text) = value { return json(body: ByteBuffer(string: text), status: status) }
        return json(body: ByteBuffer(bytes: value.canonicalBytes), status: status)
    }

    /// An answer whose JSON is already written.
    static func json(body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes)],
            body: .init(byteBuffer: body))
    }

    static func error(status: HTTPResponse.Status, code: String, message: String) -> Response {
        json(["error": ["code": .string(code), "message": .string(message)]], status: status)
    }
}
