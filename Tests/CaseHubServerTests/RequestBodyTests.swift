import CaseHubCore
import Testing

@testable import CaseHubServer

@Suite("Request body")
struct RequestBodyTests {
    @Test(arguments: [
        ("application/json", "application/json"),
        ("Application/JSON; charset=utf-8", "application/json"),
        (" \tapplication/fhir+json ;charset=UTF-8", "application/fhir+json"),
        ("text/plain", "text/plain"),
        ("", ""),
        ("; charset=utf-8", ""),
    ])
    func theMediaTypeIsReadWithoutParametersOrBlanks(_ contentType: String, _ expected: String) {
        #expect(RequestBody.mediaType(of: contentType) == expected)
    }

    @Test func anIntegerMayBeWrittenWithAZeroFraction() throws {
        let body = try RequestBody(members: #require(try JSONValue.parse(Array(#"{"a": 12, "b": 12.0, "c": 1.2e1, "d": 12.5, "e": 1e300, "f": "12"}"#.utf8)).objectMembers))
        #expect(try body.int("a") == 12 && body.int("b") == 12 && body.int("c") == 12)
        for key in ["d", "e", "f"] {
            #expect(throws: CaseHubError.self, "\(key)") { try body.int(key) }
        }
    }
}

extension JSONValue {
    fileprivate var objectMembers: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }
}
