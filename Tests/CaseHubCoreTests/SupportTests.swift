import Foundation
import Testing

@testable import CaseHubCore

@Suite struct TimestampTests {
    @Test func formatsRFC3339UTCWithMilliseconds() {
        #expect(Timestamp.format(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(millis: 1_795_420_800_123) == "2026-11-23T08:00:00.123Z")
        #expect(Timestamp.format(millis: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp.format(millis: 4_107_542_399_999) == "2100-02-28T23:59:59.999Z")
        #expect(Timestamp.format(millis: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
    }

    /// Every day from 1970 to 2400 (leap days and century years among them), at a time of day
    /// that moves with the day, against the C library's calendar.
    @Test func formatAgreesWithTheCLibraryOnEveryDay() {
        var mismatches: [String] = []
        for day: UInt64 in 0..<157_000 {
            let millis = day * 86_400_000 + (day * 7_919_123) % 86_400_000
            var seconds = time_t(millis / 1000)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            let expected = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour,
                parts.tm_min, parts.tm_sec, Int32(millis % 1000))
            let formatted = Timestamp.format(millis: millis)
            if formatted != expected { mismatches.append("\(formatted) != \(expected)") }
            if Timestamp.parseMillis(formatted) != millis { mismatches.append("\(formatted) does not parse back to \(millis)") }
        }
        #expect(mismatches.prefix(5) == [])
    }

    @Test func parsesOffsetsAndFractions() {
        #expect(Timestamp.parseMillis("2026-11-23T08:00:00Z") == 1_795_420_800_000)
        #expect(Timestamp.parseMillis("2026-11-23T15:00:00.5+07:00") == 1_795_420_800_500)
        #expect(Timestamp.parseMillis("2026-11-23 08:00") == nil)
        #expect(Timestamp.parseMillis("2026-13-23T08:00:00Z") == nil)
    }

    /// Fractions of any length are read to the millisecond (a longer one once crashed the hub).
    @Test(arguments: 1...12)
    func readsFractionsOfAnyLength(digits: Int) {
        let fraction = String("123456789012".prefix(digits))
        let expected: UInt64 = [0: 0, 1: 100, 2: 120][digits] ?? 123
        #expect(Timestamp.parseMillis("2026-11-23T08:00:00.\(fraction)Z") == 1_795_420_800_000 + expected)
        #expect(Timestamp.parseMillis("2026-11-23T15:00:00.\(fraction)+07:00") == 1_795_420_800_000 + expected)
    }

    @Test func refusesDatesAndOffsetsThatDoNotExist() {
        #expect(Timestamp.parseMillis("2024-02-29T00:00:00Z") == 1_709_164_800_000)
        #expect(Timestamp.parseMillis("2000-02-29T00:00:00Z") == 951_782_400_000)
        for text in [
            "2026-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-00T00:00:00Z",
            "2026-11-23T08:00:00+24:00", "2026-11-23T08:00:00+05:60", "2026-11-23T08:00:00+99:00", "2026-11-23T08:00:00.Z",
            "1969-12-31T23:59:59Z", "9999-12-31T23:30:00-01:00",
        ] {
            #expect(Timestamp.parseMillis(text) == nil, "\(text)")
        }
    }
}

@Suite struct IdentifierTests {
    @Test func areUUIDv7AndStrictlyIncreasing() {
        let ids = (0..<5000).map { _ in Identifier.make() }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        let first = Array(ids[0].utf8)
        #expect(ids[0].count == 36 && first[14] == UInt8(ascii: "7"))
    }

    @Test func carryTheirMillisecondVariantAndRandomBits() {
        let before = Timestamp.nowMillis()
        let ids = (0..<200).map { _ in Identifier.make() }
        let after = Timestamp.nowMillis()
        for id in ids {
            let groups = id.split(separator: "-").map(String.init)
            #expect(groups.map(\.count) == [8, 4, 4, 4, 12])
            // Ids made in parallel elsewhere in the suite may run the counter, and so the time,
            // a few milliseconds ahead of the clock.
            #expect(UInt64(groups[0] + groups[1], radix: 16).map { (before...after + 50).contains($0) } == true)
            #expect(groups[2].first == "7")
            #expect(groups[3].first.map { "89ab".contains($0) } == true)
            #expect(id == id.lowercased())
        }
        // The random tail: no two of the 200 share it.
        #expect(Set(ids.map { $0.suffix(12) }).count == ids.count)
        #expect(ids.allSatisfy(Identifier.isWellFormed))
        #expect(!Identifier.isWellFormed(ids[0].uppercased()) && !Identifier.isWellFormed(String(ids[0].dropLast())))
    }
}

@Suite struct AccessPolicyTests {
    @Test func defaultTableIsTheContracts() {
        let policy = AccessPolicy.default
        #expect(policy.threads(for: .caseManager) == [.patient, .family, .ppa, .payer])
        #expect(policy.threads(for: .ppa) == [.patient, .family, .ppa])
        #expect(policy.threads(for: .family) == [.family])
        #expect(policy.threads(for: .patient) == [.patient])
        #expect(policy.threads(for: .payer) == [.payer])
        #expect(policy.threads(for: .admin) == ThreadName.allCases)
    }

    @Test func adminCannotBeNarrowed() {
        var policy = AccessPolicy.default
        policy.set([.family], for: .admin)
        policy.set([.patient, .ppa], for: .ppa)
        #expect(policy.threads(for: .admin) == ThreadName.allCases)
        #expect(!policy.canAccess(.ppa, thread: .family))
    }

    @Test func principalsSeeOnlyTheirCases() {
        let family = Principal(tokenId: "t", role: .family, name: "Ibu Sari", memberships: ["c1": "p1"])
        #expect(family.canSee(caseId: "c1") && !family.canSee(caseId: "c2"))
        #expect(family.actor(in: "c1").id == "p1")
        #expect(Principal(tokenId: "a", role: .admin, name: "ops", memberships: [:]).canSee(caseId: "c2"))
    }
}
