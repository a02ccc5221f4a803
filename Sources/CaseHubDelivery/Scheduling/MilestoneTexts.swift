import CaseHubCore
import CaseHubStore
import Foundation

/// The hub's own thread messages for milestone notices, from `Templates/messages/`, each in
/// the language of the thread it goes to.
public struct MilestoneTexts: Sendable {
    private let templates: TemplateCatalog
    private let time: HumanTime

    public init(templates: TemplateCatalog, timeZone: String = QuietHours.defaultTimeZone) {
        self.templates = templates
        self.time = HumanTime(timeZone: timeZone)
    }

    /// The text to post in each audience thread; empty for firings that post nothing.
    public func posts(for firing: DueFiring) -> [ThreadName: String] {
        guard let milestone = firing.milestone else { return [:] }
        let name: String
        switch firing.purpose {
        case .milestoneReminder: name = "messages/milestone_reminder"
        case .milestoneDue: name = "messages/milestone_due"
        case .milestoneOverdue: name = "messages/milestone_overdue"
        case .ackEscalation, .authorizationEscalation: return [:]
        }
        var posts: [ThreadName: String] = [:]
        for thread in milestone.audience {
            let locale = firing.threadLocales[thread] ?? "id"
            let labels = TemplateLabels(locale: locale)
            let context: TemplateVariables = [
                "title": milestone.title, "kind_label": labels.milestoneKind(milestone.kind),
                "due_time": time.format(millis: milestone.dueMillis, locale: locale),
                "reminder_label": firing.detail.flatMap(ISODuration.init).map(labels.duration) ?? "",
            ]
            posts[thread] = templates.render(name, locale: locale, context).trimmed
        }
        return posts
    }
}
