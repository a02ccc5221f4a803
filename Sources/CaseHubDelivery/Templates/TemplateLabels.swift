import CaseHubCore

/// How roles, threads and kinds are named in what people receive, per locale.
struct TemplateLabels {
    let locale: String

    private var english: Bool { locale == "en" }

    func role(_ raw: String) -> String {
        let id = [
            "case_manager": "Manajer Pelayanan Pasien", "ppa": "PPA", "family": "Keluarga", "patient": "Pasien", "payer": "Penjamin",
            "admin": "Administrator", "system": "CaseHub",
        ]
        let en = [
            "case_manager": "Case manager", "ppa": "Care team", "family": "Family", "patient": "Patient", "payer": "Payer",
            "admin": "Administrator", "system": "CaseHub",
        ]
        return (english ? en : id)[raw] ?? raw
    }

    func thread(_ thread: ThreadName) -> String {
        let id: [ThreadName: String] = [.patient: "Pasien", .family: "Keluarga", .ppa: "PPA", .payer: "Penjamin"]
        let en: [ThreadName: String] = [.patient: "patient", .family: "family", .ppa: "care team", .payer: "payer"]
        return (english ? en : id)[thread] ?? thread.rawValue
    }

    func messageKind(_ kind: Message.Kind) -> String {
        let id: [Message.Kind: String] = [
            .text: "Pesan", .handoff: "Serah terima (SBAR)", .education: "Edukasi", .authorizationRequest: "Permintaan otorisasi",
            .authorizationDecision: "Keputusan otorisasi", .milestone: "Rencana asuhan", .system: "Pemberitahuan",
        ]
        let en: [Message.Kind: String] = [
            .text: "message", .handoff: "handoff (SBAR)", .education: "education", .authorizationRequest: "authorization request",
            .authorizationDecision: "authorization decision", .milestone: "care plan", .system: "notice",
        ]
        return (english ? en : id)[kind] ?? kind.rawValue
    }

    func milestoneKind(_ kind: Milestone.Kind) -> String {
        let id: [Milestone.Kind: String] = [
            .assessment: "Asesmen", .education: "Edukasi", .handoff: "Serah terima", .authorization: "Otorisasi penjamin",
            .discharge: "Pemulangan", .followUp: "Kontrol lanjutan", .other: "Kegiatan",
        ]
        let en: [Milestone.Kind: String] = [
            .assessment: "Assessment", .education: "Education", .handoff: "Handoff", .authorization: "Payer authorization",
            .discharge: "Discharge", .followUp: "Follow-up", .other: "Activity",
        ]
        return (english ? en : id)[kind] ?? kind.rawValue
    }

    /// `PT24H` as "24 jam" / "24 hours" (whole days, hours and minutes).
    func duration(_ duration: ISODuration) -> String {
        var minutes = Int(duration.milliseconds / 60_000)
        var parts: [String] = []
        let units: [(Int, String, String, String)] = [(1440, "hari", "day", "days"), (60, "jam", "hour", "hours"), (1, "menit", "minute", "minutes")]
        for (size, id, one, many) in units where minutes >= size {
            let count = minutes / size
            minutes %= size
            parts.append("\(count) " + (english ? (count == 1 ? one : many) : id))
        }
        return parts.isEmpty ? (english ? "0 minutes" : "0 menit") : parts.joined(separator: " ")
    }
}
