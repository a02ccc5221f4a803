import CaseHubCore
import CaseHubStore
import CaseHubTemplates
import Foundation
import Mustache

/// Renders e-mail deliveries from the Mustache templates in `Templates/email/<locale>/`:
/// `<name>.subject`, `<name>.text` and `<name>.html`, in the recipient's locale (`id` unless
/// the participant chose `en`).
public struct EmailComposer: Sendable {
    private let library: MustacheLibrary
    private let from: String
    private let publicURL: String

    /// - Parameter templatesDirectory: the folder holding `email/`; the bundled templates by default.
    public init(from: String, publicURL: String, templatesDirectory: URL = TemplateBundle.directory) async throws {
        self.library = try await MustacheLibrary(directory: templatesDirectory.appendingPathComponent("email").path)
        self.from = from
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
    }

    /// The mail for a claimed e-mail delivery.
    public func compose(_ claimed: ClaimedDelivery) throws(CompositionError) -> MIMEMessage {
        guard let recipient = claimed.recipient, let address = recipient.email else {
            throw CompositionError("the recipient has no e-mail address")
        }
        guard let message = claimed.message else { throw CompositionError("the message is gone") }
        let locale = Participant.locales.contains(recipient.locale) ? recipient.locale : "id"
        let labels = EmailLabels(locale: locale)
        let context: [String: Any] = [
            "recipient_name": recipient.name,
            "author_name": message.author.name,
            "author_role": labels.role(message.author.role),
            "thread_label": labels.thread(message.thread),
            "body": message.body,
            "redacted": message.redacted,
            "urgent": message.priority == .urgent,
            "case_url": "\(publicURL)/cases/\(claimed.delivery.caseId)",
        ]
        let name = "\(locale)/new_message"
        guard let subject = library.render(context, withTemplate: "\(name).subject"),
            let text = library.render(context, withTemplate: "\(name).text"),
            let html = library.render(context, withTemplate: "\(name).html")
        else { throw CompositionError("no e-mail template \(name) in Templates/email") }
        let domain = from.split(separator: "@").last.map(String.init) ?? "casehub.local"
        var mail = MIMEMessage(
            from: (name: "CaseHub", address: from), to: (name: recipient.name, address: address),
            subject: subject.trimmingCharacters(in: .whitespacesAndNewlines), date: Date(),
            messageId: "\(claimed.delivery.id)@\(domain)", conversationId: "case-\(claimed.delivery.caseId)@\(domain)",
            text: text.trimmingCharacters(in: .whitespacesAndNewlines) + "\n", html: html)
        mail.extraHeaders = [("Auto-Submitted", "auto-generated"), ("X-CaseHub-Case", claimed.delivery.caseId)]
        return mail
    }
}

/// A delivery that cannot be rendered into an e-mail.
public struct CompositionError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Names of roles and threads as an e-mail shows them.
struct EmailLabels {
    let locale: String

    func role(_ raw: String) -> String {
        let id = ["case_manager": "Manajer Pelayanan Pasien", "ppa": "PPA", "family": "Keluarga", "patient": "Pasien", "payer": "Penjamin", "admin": "Administrator"]
        let en = ["case_manager": "Case manager", "ppa": "Care team", "family": "Family", "patient": "Patient", "payer": "Payer", "admin": "Administrator"]
        return (locale == "en" ? en : id)[raw] ?? raw
    }

    func thread(_ thread: ThreadName) -> String {
        let id: [ThreadName: String] = [.patient: "Pasien", .family: "Keluarga", .ppa: "PPA", .payer: "Penjamin"]
        let en: [ThreadName: String] = [.patient: "patient", .family: "family", .ppa: "care team", .payer: "payer"]
        return (locale == "en" ? en : id)[thread] ?? thread.rawValue
    }
}
