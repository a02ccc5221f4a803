/// A JSON document held as a value.
///
/// CaseHub builds every response and every log entry from `JSONValue`, so that the bytes a
/// client receives and the bytes the hash chain covers come from one serializer with one set
/// of rules (sorted keys, no insignificant whitespace: see ``JSONValue/canonicalString``).
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
    /// An object whose members are already in canonical order, as the model types render
    /// themselves: their keys are fixed, so they are written sorted and never sorted again.
    /// Build it with ``JSONValue/members(_:)``.
    case sortedObject([Member])
    /// JSON text that is already canonical (it was produced by this serializer and stored);
    /// written out as is, so stored documents need not be parsed to be served.
    case canonical(String)
}

extension JSONValue {
    public struct Member: Sendable, Hashable {
        public let key: String
        public let value: JSONValue
    }

    /// An object from key-value pairs written in canonical order (sorted by their UTF-8 bytes).
    public static func members(_ pairs: KeyValuePairs<String, JSONValue>) -> JSONValue {
        let members = pairs.map { Member(key: $0.key, value: $0.value) }
        assert(zip(members, members.dropFirst()).allSatisfy { utf8Precedes($0.key, $1.key) }, "keys out of canonical order")
        return .sortedObject(members)
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        if case .sortedObject(let members) = self { return members.first { $0.key == key }?.value }
        if case .canonical = self, case .object(let members)? = try? self.parsed() { return members[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var intValue: Int? {
        if case .int(let value) = self { return Int(exactly: value) }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The same document with any `.canonical` text parsed into values.
    public func parsed() throws -> JSONValue {
        switch self {
        case .canonical(let text): return try JSONValue.parse(Array(text.utf8))
        case .array(let items): return .array(try items.map { try $0.parsed() })
        case .object(let members): return .object(try members.mapValues { try $0.parsed() })
        case .sortedObject(let members):
            return .object(Dictionary(try members.map { ($0.key, try $0.value.parsed()) }, uniquingKeysWith: { _, last in last }))
        default: return self
        }
    }

    public init(_ string: String?) {
        self = string.map(JSONValue.string) ?? .null
    }

    public init(_ int: Int?) {
        self = int.map { .int(Int64($0)) } ?? .null
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}
