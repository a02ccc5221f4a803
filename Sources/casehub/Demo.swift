import ArgumentParser
import CaseHubCore
import CaseHubServer
import CaseHubStore
import Foundation

/// `casehub demo`: seeds one realistic case so a newcomer sees the whole flow: an inpatient
/// with BPJS Kesehatan as payer, the family, a DPJP and a ward nurse, an SBAR handoff that
/// waits for its ack, an education milestone for the family, and a payer authorization request
/// that the routing rules relay to the payer thread. Prints the case id and one token per
/// person (shown once), for the README tour.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Seed a realistic demo case and print its id and one token per participant (shown once).")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        let configuration = try options.loadConfiguration()
        let store = try await options.openStore(configuration, logger: options.logger(configuration))
        let adminToken = Token.make()
        let adminTokenId = try await store.issueAdminToken(name: "CaseHub demo", tokenHash: Token.hash(adminToken))
        let admin = Principal(tokenId: adminTokenId, role: .admin, name: "CaseHub demo", memberships: [:])
        let hubCase = try await store.createCase(
            NewCase(
                mrn: "RM-2026-004711", patient: ["name": "Budi Santoso", "birth_date": "1961-04-17", "ward": "Melati 3"],
                payer: ["name": "BPJS Kesehatan", "member_id": "0001234567890", "class": "2"]),
            by: admin)
        let caseId = hubCase.id
        var people: [(role: Role, name: String, token: String, actor: Actor)] = []
        for (role, name, email) in Self.people {
            let token = Token.make()
            let participant = try await store.addParticipant(
                NewParticipant(role: role, name: name, email: email, locale: "id"), caseId: caseId, tokenHash: Token.hash(token),
                by: admin.actor(in: caseId))
            people.append((role, name, token, Actor(id: participant.id, role: role.rawValue, name: name)))
        }
        func actor(_ name: String) -> Actor { people.first { $0.name == name }!.actor }
        let manager = actor("Ners Rina Kartika"), nurse = actor("Ners Dewi Lestari"), dpjp = actor("dr. Andi Wijaya, Sp.PD")

        _ = try await store.postMessage(
            NewMessage(
                body: "Selamat pagi Ibu Sari. Saya Ners Rina, Manajer Pelayanan Pasien untuk Pak Budi. Silakan bertanya di sini kapan saja.",
                kind: .text, data: [:], replyTo: nil, priority: .routine, requiresAck: false),
            caseId: caseId, thread: .family, by: manager, idempotency: nil)
        _ = try await store.postMessage(
            NewMessage(
                body: "Serah terima dinas pagi ke dinas siang.", kind: .handoff,
                data: [
                    "situation": "Hari rawat ke-3 ulkus kaki diabetik kanan; GDS pagi 248 mg/dL.",
                    "background": "DM tipe 2 sejak 2015, hipertensi; debridement hari ke-1.",
                    "assessment": "Luka bersih, tanda infeksi berkurang; gula darah belum terkontrol.",
                    "recommendation": "Cek GDS tiap 6 jam, lapor DPJP bila > 300; ganti balutan pukul 16.00.",
                    "illness_severity": "watcher",
                ],
                replyTo: nil, priority: .routine, requiresAck: true),
            caseId: caseId, thread: .ppa, by: nurse, idempotency: nil)
        let now = Timestamp.nowMillis()
        let day: UInt64 = 86_400_000
        _ = try await store.createMilestone(
            NewMilestone(
                title: "Edukasi perawatan luka dan diet diabetes untuk keluarga", kind: .education,
                dueAt: Timestamp.format(millis: now + 2 * day), audience: [.family, .ppa], reminders: [ISODuration("PT24H")!, ISODuration("PT1H")!]),
            caseId: caseId, by: manager)
        _ = try await store.createMilestone(
            NewMilestone(
                title: "Rencana pemulangan", kind: .discharge, dueAt: Timestamp.format(millis: now + 5 * day), audience: [.family, .ppa, .patient],
                reminders: [ISODuration("PT24H")!]),
            caseId: caseId, by: manager)
        _ = try await store.postMessage(
            NewMessage(
                body: "Mohon persetujuan MRI pedis kanan untuk menilai osteomielitis.", kind: .authorizationRequest,
                data: [
                    "service": "MRI pedis kanan dengan kontras", "reason": "Curiga osteomielitis pada ulkus kaki diabetik",
                    "urgency": "urgent", "due_at": .string(Timestamp.format(millis: now + day)),
                ],
                replyTo: nil, priority: .urgent, requiresAck: false),
            caseId: caseId, thread: .ppa, by: dpjp, idempotency: nil)

        print("Demo case \(caseId): Budi Santoso (RM-2026-004711), payer BPJS Kesehatan")
        print("Tokens, shown once (send them as Authorization: Bearer TOKEN):")
        print("  admin         CaseHub demo                 \(adminToken)")
        for person in people {
            print("  \(person.role.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0)) \(person.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(person.token)")
        }
    }

    /// The people of the demo case, in the order their tokens are printed.
    static let people: [(Role, String, String?)] = [
        (.caseManager, "Ners Rina Kartika", "rina.kartika@rs-harapan.example"),
        (.ppa, "dr. Andi Wijaya, Sp.PD", "andi.wijaya@rs-harapan.example"),
        (.ppa, "Ners Dewi Lestari", nil),
        (.family, "Ibu Sari Wulandari", "sari.wulandari@example.org"),
        (.patient, "Budi Santoso", nil),
        (.payer, "Verifikator BPJS Kesehatan", "verifikasi@bpjs.example"),
    ]
}
