import Testing

@testable import CaseHubCore

@Suite("ISO 8601 durations of care-plan reminders")
struct ISODurationTests {
    static let accepted: [(text: String, milliseconds: UInt64)] = [
        ("PT24H", 86_400_000),
        ("PT1H30M", 5_400_000),
        ("P2D", 172_800_000),
        ("P1W", 604_800_000),
        ("P1DT2H", 93_600_000),
        ("PT90S", 90_000),
        ("PT15M", 900_000),
        ("PT0S", 0),
        ("P1WT1H", 608_400_000),
        ("P366D", 31_622_400_000),
        ("PT8784H", 31_622_400_000),
        ("P52W", 31_449_600_000),
    ]

    @Test("Durations of fixed-length units are read to milliseconds and keep their text", arguments: accepted)
    func acceptsFixedLengthUnits(text: String, milliseconds: UInt64) throws {
        let duration = try #require(ISODuration(text))
        #expect(duration.milliseconds == milliseconds)
        #expect(duration.text == text)
        #expect(duration.description == text)
    }

    @Test(
        "Malformed durations, months, years and fractions are refused",
        arguments: [
            "", "P", "PT", "24H", "P1M", "P1Y", "P1Y2D", "PT1.5H", "PT1,5H", "P1DT", "PT-1H", "-PT1H", "pt1h", "P1d", "P1H", "PT1D", "PT1W",
            "P1DT2", "PT1", "P T1H", "PT1H ", " PT1H", "PTT1H", "P1TH", "PT1HT", "P١D",
        ])
    func refusesOthers(text: String) {
        #expect(ISODuration(text) == nil)
    }

    @Test("Durations longer than 366 days are refused", arguments: ["P367D", "P53W", "PT8785H", "PT527041M", "P366DT1S", "P99999999999D"])
    func refusesMoreThanAYear(text: String) {
        #expect(ISODuration(text) == nil)
    }

    @Test("A single unit too large to count in seconds is refused, not overflowed")
    func refusesAmountsThatOverflow() {
        #expect(ISODuration("PT18446744073709551615S") == nil)
        #expect(ISODuration("PT18446744073709551615H") == nil)
        #expect(ISODuration("P99999999999999999999D") == nil)
    }

    /// `seconds += part` is not checked for overflow: once a first unit has counted, a huge
    /// second amount that multiplies without overflow wraps the sum and traps. Run in a child
    /// process so the trap fails this test instead of the whole run.
    @Test("A huge second unit after a first one is refused without crashing")
    func refusesHugeSecondUnitWithoutCrashing() async {
        await #expect(processExitsWith: .success) {
            precondition(ISODuration("P1DT18446744073709551615S") == nil)
        }
    }

    @Test("Equal durations compare equal by text and length")
    func equality() {
        #expect(ISODuration("PT1H") == ISODuration("PT1H"))
        #expect(ISODuration("PT60M") != ISODuration("PT1H"))
        #expect(ISODuration("PT60M")?.milliseconds == ISODuration("PT1H")?.milliseconds)
    }
}
