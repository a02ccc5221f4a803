import CaseHubCore
import Foundation
import Hummingbird
import NIOCore

/// A request's JSON object, with getters that name the offending field when a value is
/// missing or of the wrong type (the API's promise for 400 answers).
struct RequestBody {
    let members: [String: JSONValue]
    /// Field names are reported with this prefix (for nested objects such as `patient.`).
    let path: String

    init(members: [String: JSONValue], path: String = "") {
        self.members = members
        self.path = path
    }

    static let tooLarge = CaseHubError.payloadTooLarge("the request body is larger than 1 MiB")

    /// Reads the whole body: 415 for a non-JSON content type, 413 above the size limit, 400
    /// when it is not a JSON object in UTF-8.
    static func read(_ request: Request, context: some RequestContext) async throws -> RequestBody {
        if let contentType = request.headers.first(.contentType) {
            let mediaType = Self.mediaType(of: contentType)
            guard mediaType == "application/json" || mediaType.hasSuffix("+json") else {
                throw CaseHubError.unsupportedMediaType("the body must be application/json, not \(mediaType)")
            }
        }
        // A declared length over the limit was refused before (`BodySizeMiddleware`); this counts
        // what arrives, which a chunked body does not declare.
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(Array(buffer.readableBytesView))
        } catch {
            throw CaseHubError.invalidRequest("body: \(error)")
        }
        guard case .object(let members) = document else { throw CaseHubError.invalidRequest(field: "body", "must be a JSON object") }
        return RequestBody(members: members)
    }

    /// The media type of a `Content-Type` value, lowercased, without parameters or the
    /// spaces and tabs around it.
    static func mediaType(of contentType: String) -> String {
        let type = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let trimmed = type.drop(while: isBlank).reversed().drop(while: isBlank).reversed()
        return String(decoding: trimmed.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    private func name(_ key: String) -> String { path + key }

    func string(_ key: String, maxLength: Int = 1 << 20) throws -> String {
        guard let value = try optionalString(key, maxLength: maxLength) else {
            throw CaseHubError.invalidRequest(field: name(key), "is required")
        }
        return value
    }

    func nonEmptyString(_ key: String, maxLength: Int = 1 << 20) throws -> String {
        let value = try string(key, maxLength: maxLength)
        guard value.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else {
            throw CaseHubError.invalidRequest(field: name(key), "must not be empty")
        }
        return value
    }

    func optionalString(_ key: String, maxLength: Int = 1 << 20) throws -> String? {
        switch members[key] {
        case nil, .null?: return nil
        case .string(let value)?:
            guard value.utf8.count <= maxLength else {
                throw CaseHubError.invalidRequest(field: name(key), "is longer than \(maxLength) bytes")
            }
            return value
        default: throw CaseHubError.invalidRequest(field: name(key), "must be a string")
        }
    }

    func optionalBool(_ key: String) throws -> Bool? {
        switch members[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw CaseHubError.invalidRequest(field: name(key), "must be true or false")
        }
    }

    /// An array of strings, or nil when absent.
    func optionalStrings(_ key: String, maxCount: Int = 100, maxLength: Int = 200) throws -> [String]? {
        switch members[key] {
        case nil, .null?: return nil
        case .array(let items)?:
            guard items.count <= maxCount else { throw CaseHubError.invalidRequest(field: name(key), "has more than \(maxCount) items") }
            return try items.map { item in
                guard case .string(let value) = item, value.utf8.count <= maxLength else {
                    throw CaseHubError.invalidRequest(field: name(key), "must be an array of strings")
                }
                return value
            }
        default: throw CaseHubError.invalidRequest(field: name(key), "must be an array of strings")
        }
    }

    /// An integer; a number written with a zero fraction (`12.0`, `1.2e1`) counts as one, as
    /// JSON Schema has it.
    func int(_ key: String) throws -> Int {
        switch members[key] {
        case nil, .null?: throw CaseHubError.invalidRequest(field: name(key), "is required")
        case .int(let value)?: return Int(value)
        case .double(let value)? where value.rounded() == value && abs(value) < 0x1p63: return Int(value)
        default: throw CaseHubError.invalidRequest(field: name(key), "must be an integer")
        }
    }

    /// An enum value given by its raw string, or `defaultValue` when absent.
    /// One of `allowed` (all of `T`'s values unless given), named in the 400 otherwise.
    func choice<T: RawRepresentable & CaseIterable & Equatable>(
        _ key: String, default defaultValue: T? = nil, among allowed: [T] = Array(T.allCases)
    ) throws -> T where T.RawValue == String {
        guard let raw = try optionalString(key) else {
            guard let defaultValue else { throw CaseHubError.invalidRequest(field: name(key), "is required") }
            return defaultValue
        }
        guard let value = T(rawValue: raw), allowed.contains(value) else {
            throw CaseHubError.invalidRequest(field: name(key), "must be one of \(allowed.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    func object(_ key: String) throws -> RequestBody {
        guard let value = try optionalObject(key) else { throw CaseHubError.invalidRequest(field: name(key), "is required") }
        return value
    }

    func optionalObject(_ key: String) throws -> RequestBody? {
        switch members[key] {
        case nil, .null?: return nil
        case .object(let nested)?: return RequestBody(members: nested, path: name(key) + ".")
        default: throw CaseHubError.invalidRequest(field: name(key), "must be an object")
        }
    }

    var json: JSONValue { .object(members) }
}
