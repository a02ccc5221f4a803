import Testing

@testable import CaseHubCore

@Suite struct TimestampTests {
    @Test func formatsRFC3339UTCWithMilliseconds() {
        #expect(Timestamp.format(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(millis: 1_795_420_800_123) == "2026-11-23T08:00:00.123Z")
    }

    @Test func parsesOffsetsAndFractions() {
        #expect(Timestamp.parseMillis("2026-11-23T08:00:00Z") == 1_795_420_800_000)
        #expect(Timestamp.parseMillis("2026-11-23T15:00:00.5+07:00") == 1_795_420_800_500)
        #expect(Timestamp.parseMillis("2026-11-23 08:00") == nil)
        #expect(Timestamp.parseMillis("2026-13-23T08:00:00Z") == nil)
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
