import Testing

@testable import CaseHubCore

@Suite struct JSONValueTests {
    @Test func canonicalFormSortsKeysAndDropsWhitespace() throws {
        let value = try JSONValue.parse(#" { "b" : [1, 2.5, true, null], "a" : {"z": "x", "y": -3} } "#)
        #expect(value.canonicalString == #"{"a":{"y":-3,"z":"x"},"b":[1,2.5,true,null]}"#)
    }

    @Test func stringsEscapeOnlyWhatJSONRequires() {
        let value = JSONValue.string("quote \" back \\ nl \n tab \t bell \u{07} slash / é 🙂")
        #expect(value.canonicalString == #""quote \" back \\ nl \n tab \t bell \u0007 slash / é 🙂""#)
    }

    @Test func roundTripsThroughParseAndSerialize() throws {
        let text = #"{"data":{"assessment":"stabil","n":[1,-2,3.25,1e-7]},"emoji":"🙂","empty":{},"list":[]}"#
        let parsed = try JSONValue.parse(text)
        #expect(try JSONValue.parse(parsed.canonicalString) == parsed)
        #expect(parsed["emoji"]?.stringValue == "🙂")
    }

    @Test func integralDoublesPrintWithoutFraction() throws {
        #expect(JSONValue.double(3.0).canonicalString == "3")
        #expect(JSONValue.double(0.5).canonicalString == "0.5")
        #expect(try JSONValue.parse("10.0") == .double(10))
    }

    @Test func unicodeEscapesAndSurrogatePairsDecode() throws {
        #expect(try JSONValue.parse(#""\u00e9\ud83d\ude42""#) == .string("é🙂"))
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(#""\ud83d""#) }
    }

    @Test(arguments: [
        "", "{", "[1,]", #"{"a":1,}"#, "{'a':1}", "tru", "01", "1.", "-", #"{"a" 1}"#, "[1] 2", "\"tab\there\"", "NaN",
        #"{"a":1,"a":1}"#, #"{"x":{"b":true,"b":false}}"#, #"[{"\u0061":1,"a":2}]"#,
    ])
    func rejectsMalformedDocuments(_ text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
    }

    /// An integer is kept exactly or refused, never rounded through a double.
    @Test func integersBeyondSixtyFourBitsAreRefusedNotRounded() throws {
        #expect(try JSONValue.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSONValue.parse("-9223372036854775808") == .int(Int64.min))
        for text in ["9223372036854775808", "-9223372036854775809", #"{"claim": 12345678901234567890}"#] {
            let error = try #require(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
            #expect(error.reason.contains("beyond 64 bits"))
        }
        // A fraction or an exponent says the sender meant a floating-point number.
        #expect(try JSONValue.parse("12345678901234567890.0") == .double(12345678901234567890.0))
        #expect(try JSONValue.parse("1e20") == .double(1e20))
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func boundsNestingDepth() throws {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(deep) }
        let fine = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        _ = try JSONValue.parse(fine)
    }

    @Test func storedCanonicalTextIsWrittenAsIs() throws {
        let stored = JSONValue.canonical(#"{"a":1}"#)
        let wrapper: JSONValue = ["data": stored, "b": true]
        #expect(wrapper.canonicalString == #"{"b":true,"data":{"a":1}}"#)
        #expect(try stored.parsed() == ["a": 1])
    }
}
