import CaseHubCore
import CaseHubStore
import Foundation

/// Renders e-mail deliveries from the templates of ``TemplateCatalog`` in the recipient's
/// locale (`id` unless the participant chose `en`), choosing the template by what happened:
/// `milestone` for milestone notices, `escalation` for escalations to the case manager,
/// `education` for education messages, `new_message` for every other message.
public struct EmailComposer: Sendable {
    private let templates: TemplateCatalog
    private let from: String
    private let publicURL: String
    private let time: HumanTime

    /// - Parameter timeZone: the zone times are written in (`Asia/Jakarta` unless configured).
    public init(templates: TemplateCatalog, from: String, publicURL: String, timeZone: String = QuietHours.defaultTimeZone) {
        self.templates = templates
        self.from = from
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.time = HumanTime(timeZone: timeZone)
    }

    /// The mail for a claimed e-mail delivery.
    public func compose(_ claimed: ClaimedDelivery) throws(CompositionError) -> MIMEMessage {
        guard let recipient = claimed.recipient, let address = recipient.email else {
            throw CompositionError("the recipient has no e-mail address")
        }
        // Judged again when sending: an e-mail held for quiet hours, or retried, may outlive
        // the recipient's choice or their place in the case.
        guard recipient.removedAt == nil else { throw CompositionError("the recipient was removed from the case") }
        guard recipient.preferences.emailEnabled else { throw CompositionError("the recipient has turned e-mail off") }
        let locale = Participant.locales.contains(recipient.locale) ? recipient.locale : "id"
        var context: [String: any Sendable] = [
            "recipient_name": recipient.name,
            "case_url": "\(publicURL)/cases/\(claimed.delivery.caseId)",
            "urgent": false,
        ]
        let name = try fill(&context, for: claimed, labels: TemplateLabels(locale: locale), locale: locale)
        let variables = TemplateVariables(context)
        let subject = templates.render("email/\(name).subject", locale: locale, variables)
        let text = templates.render("email/\(name).text", locale: locale, variables)
        let html = templates.render("email/\(name).html", locale: locale, variables)
        let domain = from.split(separator: "@").last.map(String.init) ?? "casehub.local"
        var mail = MIMEMessage(
            from: (name: "CaseHub", address: from), to: (name: recipient.name, address: address),
            subject: subject.trimmed, date: Date(),
            messageId: "\(claimed.delivery.id)@\(domain)", conversationId: "case-\(claimed.delivery.caseId)@\(domain)",
            text: text.trimmed + "\n", html: html)
        mail.extraHeaders = [("Auto-Submitted", "auto-generated"), ("X-CaseHub-Case", claimed.delivery.caseId)]
        return mail
    }

    /// Adds the event's variables to `context`; returns the template's name.
    private func fill(_ context: inout [String: any Sendable], for claimed: ClaimedDelivery, labels: TemplateLabels, locale: String) throws(CompositionError)
        -> String
    {
        let event = claimed.event
        if event.type.hasPrefix("milestone.") {
            guard let kind = event.data["kind"]?.stringValue.flatMap(Milestone.Kind.init(rawValue:)),
                let due = event.data["due_at"]?.stringValue.flatMap(Timestamp.parseMillis)
            else { throw CompositionError("the milestone entry lacks its kind or due time") }
            context["title"] = event.content?["title"]?.stringValue ?? labels.milestoneKind(kind)
            context["kind_label"] = labels.milestoneKind(kind)
            context["due_time"] = time.format(millis: due, locale: locale)
            context["reminder_label"] = event.data["reminder"]?.stringValue.flatMap(ISODuration.init).map(labels.duration) ?? ""
            context["is_reminder"] = event.type == LogEntryType.milestoneReminder.rawValue
            context["is_due"] = event.type == LogEntryType.milestoneDue.rawValue
            context["is_overdue"] = event.type == LogEntryType.milestoneOverdue.rawValue
            context["urgent"] = event.type == LogEntryType.milestoneOverdue.rawValue
            return "milestone"
        }
        guard let message = claimed.message else { throw CompositionError("the message is gone") }
        if event.type == LogEntryType.messageEscalated.rawValue {
            let reason = event.data["reason"]?.stringValue
            context["ack_timeout"] = reason == "ack_timeout"
            context["authorization_overdue"] = reason == "authorization_overdue"
            context["kind_label"] = labels.messageKind(message.kind)
            context["thread_label"] = labels.thread(message.thread)
            context["posted_time"] = time.format(millis: Timestamp.parseMillis(message.createdAt) ?? 0, locale: locale)
            context["round"] = event.data["round"]?.intValue ?? 1
            context["urgent"] = true
            return "escalation"
        }
        context["author_name"] = message.author.name
        context["author_role"] = labels.role(message.author.role)
        context["thread_label"] = labels.thread(message.thread)
        context["body"] = message.body
        context["redacted"] = message.redacted
        context["urgent"] = message.priority == .urgent
        if message.kind == .education {
            context["topic"] = message.data["topic"]?.stringValue ?? ""
            context["material_url"] = message.data["material_url"]?.stringValue ?? ""
            return "education"
        }
        return "new_message"
    }
}

/// A delivery that cannot be rendered into an e-mail.
public struct CompositionError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
