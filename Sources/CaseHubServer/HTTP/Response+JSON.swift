import CaseHubCore
import Hummingbird

extension Response {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        let bytes = value.canonicalBytes
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(bytes.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func error(status: HTTPResponse.Status, code: String, message: String) -> Response {
        json(["error": ["code": .string(code), "message": .string(message)]], status: status)
    }
}
