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
}
