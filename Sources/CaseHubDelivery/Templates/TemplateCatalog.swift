import CaseHubCore
import CaseHubTemplates
import Foundation
import Mustache

/// Every text a person receives from the hub, from the Mustache files in `Templates/`: e-mails
/// (`email/<locale>/<name>.{subject,text,html}`) and the hub's own thread messages
/// (`messages/<locale>/<name>`), in each locale of ``Participant/locales``.
///
/// Checked whole when the hub starts: a missing template, or a variable a template uses that
/// the hub does not provide for it, stops start-up with one line naming the file. A person
/// never receives a blank or half-filled message.
public struct TemplateCatalog: Sendable {
    private let library: MustacheLibrary

    /// The templates the hub renders and the variables each may use.
    static let required: [(name: String, variables: Set<String>)] = {
        let mail: Set<String> = ["recipient_name", "case_url", "urgent"]
        let posted: Set<String> = mail.union(["author_name", "author_role", "thread_label", "body", "redacted"])
        let milestone: Set<String> = ["title", "kind_label", "due_time", "reminder_label"]
        let emails: [(String, Set<String>)] = [
            ("new_message", posted),
            ("education", posted.union(["topic", "material_url"])),
            ("milestone", mail.union(milestone).union(["is_reminder", "is_due", "is_overdue"])),
            ("escalation", mail.union(["ack_timeout", "authorization_overdue", "kind_label", "thread_label", "posted_time", "round"])),
        ]
        return emails.flatMap { name, variables in ["subject", "text", "html"].map { ("email/\(name).\($0)", variables) } }
            + ["milestone_reminder", "milestone_due", "milestone_overdue"].map { ("messages/\($0)", milestone) }
    }()

    /// Loads and checks the templates under `directory` (the bundled ones by default).
    public init(directory: URL = TemplateBundle.directory) async throws(TemplateError) {
        do {
            library = try await MustacheLibrary(directory: directory.path)
        } catch {
            throw TemplateError("templates in \(directory.path) do not parse: \(error)")
        }
        for (name, variables) in Self.required {
            for locale in Participant.locales {
                let path = Self.path(name, locale: locale)
                guard library.getTemplate(named: path) != nil else { throw TemplateError("missing template \(path).mustache") }
                let source = (try? String(contentsOf: directory.appendingPathComponent(path + ".mustache"), encoding: .utf8)) ?? ""
                if let unknown = Self.variables(in: source).subtracting(variables).sorted().first {
                    throw TemplateError("\(path).mustache uses {{\(unknown)}}, which the hub does not provide to it")
                }
            }
        }
    }

    /// Renders `name` (`email/milestone.subject`, `messages/milestone_due`) in `locale`.
    public func render(_ name: String, locale: String, _ variables: TemplateVariables) -> String {
        // Every required template was found at start-up, so a miss here is a programming error.
        library.render(variables, withTemplate: Self.path(name, locale: locale)) ?? ""
    }

    /// `email/milestone.subject` in `en` is the file `email/en/milestone.subject.mustache`.
    static func path(_ name: String, locale: String) -> String {
        let parts = name.split(separator: "/", maxSplits: 1)
        return "\(parts[0])/\(locale)/\(parts[1])"
    }

    /// The variable and section names a template's tags use (not pragmas, comments, partials).
    static func variables(in source: String) -> Set<String> {
        var names: Set<String> = []
        var rest = Substring(source)
        while let open = rest.range(of: "{{") {
            rest = rest[open.upperBound...]
            guard let close = rest.range(of: "}}") else { break }
            var tag = rest[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            rest = rest[close.upperBound...]
            if tag.hasPrefix("{") { tag.removeFirst() }
            if let first = tag.first, "%!>=".contains(first) { continue }
            if let first = tag.first, "#^/&".contains(first) { tag.removeFirst() }
            tag = tag.trimmingCharacters(in: .whitespaces)
            if !tag.isEmpty, tag != "." { names.insert(tag) }
        }
        return names
    }
}

/// The templates cannot serve: named in one line for the operator.
public struct TemplateError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
