import Foundation
import Testing

@testable import CaseHubCore

@Suite("Quiet hours in a participant's time zone")
struct QuietHoursTests {
    /// Milliseconds of an RFC 3339 time; Jakarta is UTC+7 all year.
    func at(_ text: String) throws -> UInt64 {
        try #require(Timestamp.parseMillis(text))
    }

    func night() throws -> QuietHours {
        try #require(QuietHours(start: "21:00", end: "06:00"))
    }

    @Test("A valid span keeps its minutes and defaults to Asia/Jakarta")
    func validSpan() throws {
        let quiet = try night()
        #expect(quiet.startMinute == 21 * 60)
        #expect(quiet.endMinute == 6 * 60)
        #expect(quiet.timeZone == "Asia/Jakarta")
        #expect(QuietHours(start: "00:00", end: "23:59", timeZone: "UTC") != nil)
        #expect(QuietHours(start: "22:30", end: "07:15", timeZone: "Europe/Berlin")?.startMinute == 22 * 60 + 30)
    }

    @Test(
        "Times that are not HH:MM are refused",
        arguments: ["", "6:00", "06:0", "0600", "06-00", "24:00", "06:60", "06:00:00", "ab:cd", " 6:00", "06 :00", "６:00", "06:00 "])
    func refusesBadTimes(text: String) {
        #expect(QuietHours(start: text, end: "06:00") == nil)
        #expect(QuietHours(start: "21:00", end: text) == nil)
    }

    /// `Int("+6")` is 6, so a sign slips through the two-character check.
    @Test("Signed numbers are not HH:MM", arguments: ["+6:00", "-0:00", "06:+5", "+1:-0"])
    func refusesSignedTimes(text: String) {
        #expect(QuietHours(start: text, end: "12:00") == nil)
    }

    @Test("A span that starts where it ends is refused")
    func refusesEmptySpan() {
        #expect(QuietHours(start: "06:00", end: "06:00") == nil)
    }

    @Test("An unknown time zone is refused", arguments: ["Mars/Olympus_Mons", "Asia/Bandung", ""])
    func refusesUnknownZone(zone: String) {
        #expect(QuietHours(start: "21:00", end: "06:00", timeZone: zone) == nil)
    }

    @Test("At 22:00 in Jakarta the quiet ends at 06:00 the next morning")
    func lateEvening() throws {
        #expect(try night().endOfQuiet(atMillis: at("2026-11-23T22:00:00+07:00")) == at("2026-11-24T06:00:00+07:00"))
        #expect(try night().endOfQuiet(atMillis: at("2026-11-23T15:00:00Z")) == at("2026-11-23T23:00:00Z"))
    }

    @Test("At 21:00 sharp the quiet has begun")
    func startIsQuiet() throws {
        #expect(try night().endOfQuiet(atMillis: at("2026-11-23T21:00:00+07:00")) == at("2026-11-24T06:00:00+07:00"))
        #expect(try night().endOfQuiet(atMillis: at("2026-11-23T20:59:59.999+07:00")) == nil)
    }

    @Test("Just after midnight and at 05:59 the quiet ends at 06:00 the same day")
    func earlyMorning() throws {
        #expect(try night().endOfQuiet(atMillis: at("2026-11-24T00:00:00+07:00")) == at("2026-11-24T06:00:00+07:00"))
        #expect(try night().endOfQuiet(atMillis: at("2026-11-24T05:59:00+07:00")) == at("2026-11-24T06:00:00+07:00"))
        #expect(try night().endOfQuiet(atMillis: at("2026-11-24T05:59:59.500+07:00")) == at("2026-11-24T06:00:00+07:00"))
    }

    @Test("At 06:00 and at noon it is not quiet", arguments: ["2026-11-24T06:00:00+07:00", "2026-11-24T12:00:00+07:00"])
    func daytimeIsNotQuiet(time: String) throws {
        #expect(try night().endOfQuiet(atMillis: at(time)) == nil)
    }

    @Test("A span within one day, 13:00 to 15:00")
    func sameDaySpan() throws {
        let nap = try #require(QuietHours(start: "13:00", end: "15:00"))
        #expect(try nap.endOfQuiet(atMillis: at("2026-11-23T13:00:00+07:00")) == at("2026-11-23T15:00:00+07:00"))
        #expect(try nap.endOfQuiet(atMillis: at("2026-11-23T14:30:00+07:00")) == at("2026-11-23T15:00:00+07:00"))
        #expect(try nap.endOfQuiet(atMillis: at("2026-11-23T12:59:00+07:00")) == nil)
        #expect(try nap.endOfQuiet(atMillis: at("2026-11-23T15:00:00+07:00")) == nil)
        #expect(try nap.endOfQuiet(atMillis: at("2026-11-23T22:00:00+07:00")) == nil)
    }

    @Test("Another zone's local time is used, not Jakarta's")
    func otherZone() throws {
        let utc = try #require(QuietHours(start: "21:00", end: "06:00", timeZone: "UTC"))
        #expect(try utc.endOfQuiet(atMillis: at("2026-11-23T22:00:00Z")) == at("2026-11-24T06:00:00Z"))
        // 22:00 in Jakarta is 15:00 UTC: quiet for Jakarta, not for UTC.
        #expect(try utc.endOfQuiet(atMillis: at("2026-11-23T15:00:00Z")) == nil)
    }

    /// The offset is taken at `millis`, so a night that crosses a daylight-saving change ends
    /// an hour off: on 2026-03-29 Berlin moves from UTC+1 to UTC+2 at 02:00.
    @Test("Quiet hours across a daylight-saving change end at 06:00 local time")
    func daylightSavingChange() throws {
        let berlin = try #require(QuietHours(start: "22:00", end: "06:00", timeZone: "Europe/Berlin"))
        let spring = berlin.endOfQuiet(atMillis: try at("2026-03-28T22:00:00+01:00")).map(Timestamp.format(millis:))
        #expect(spring == "2026-03-29T04:00:00.000Z")  // 06:00 CEST
        // In autumn (2026-10-25, UTC+2 to UTC+1), ending at 05:00 local would send mail inside the quiet hours.
        let autumn = berlin.endOfQuiet(atMillis: try at("2026-10-24T22:00:00+02:00")).map(Timestamp.format(millis:))
        #expect(autumn == "2026-10-25T05:00:00.000Z")  // 06:00 CET
    }

    @Test("JSON round trip", arguments: [("21:00", "06:00", "Asia/Jakarta"), ("13:05", "15:45", "UTC"), ("00:00", "07:30", "Asia/Makassar")])
    func jsonRoundTrip(start: String, end: String, zone: String) throws {
        let quiet = try #require(QuietHours(start: start, end: end, timeZone: zone))
        #expect(quiet.json["start"] == .string(start))
        #expect(quiet.json["end"] == .string(end))
        #expect(quiet.json["time_zone"] == .string(zone))
        #expect(QuietHours(json: quiet.json) == quiet)
        #expect(QuietHours(json: try quiet.json.parsed()) == quiet)
    }

    @Test("JSON without a zone means Jakarta; JSON without times is refused")
    func jsonDefaultsAndRefusals() throws {
        #expect(QuietHours(json: ["start": "21:00", "end": "06:00"]) == (try night()))
        #expect(QuietHours(json: ["start": "21:00", "end": "06:00", "time_zone": nil]) == (try night()))
        #expect(QuietHours(json: ["start": "21:00"]) == nil)
        #expect(QuietHours(json: ["start": 21, "end": 6]) == nil)
        #expect(QuietHours(json: ["start": "21:00", "end": "06:00", "time_zone": "Nowhere/Else"]) == nil)
        #expect(QuietHours(json: "21:00-06:00") == nil)
    }

    @Test("Preferences show quiet hours, or null")
    func preferencesJSON() throws {
        #expect(Preferences.default.json["email"] == true)
        #expect(Preferences.default.json["quiet_hours"] == .null)
        let preferences = Preferences(emailEnabled: false, quietHours: try night())
        #expect(preferences.json["quiet_hours"] == (try night()).json)
        #expect(preferences.json["email"] == false)
    }
}
