import CaseHubTemplates
import Foundation
import Testing

@testable import CaseHubDelivery

@Suite("The catalog of Mustache templates")
struct TemplateCatalogTests {
    /// A copy of the bundled templates in a fresh temporary folder; the caller removes it.
    func copyOfTemplates() throws -> URL {
        let manager = FileManager.default
        let folder = manager.temporaryDirectory.appendingPathComponent("casehub-templates-\(UUID().uuidString)", isDirectory: true)
        try manager.createDirectory(at: folder, withIntermediateDirectories: true)
        for item in try manager.contentsOfDirectory(atPath: TemplateBundle.directory.path) {
            try manager.copyItem(
                at: TemplateBundle.directory.appendingPathComponent(item), to: folder.appendingPathComponent(item))
        }
        return folder
    }

    /// The error loading `folder` throws, or nil when it loads.
    func loadError(_ folder: URL) async -> TemplateError? {
        do {
            _ = try await TemplateCatalog(directory: folder)
            return nil
        } catch {
            return error
        }
    }

    @Test("The bundled templates load")
    func bundledCatalogLoads() async throws {
        _ = try await TemplateCatalog()
    }

    @Test("Every required template exists in every locale")
    func requiredTemplatesExist() {
        #expect(TemplateCatalog.required.count == 15)
        for (name, _) in TemplateCatalog.required {
            for locale in ["id", "en"] {
                let file = TemplateBundle.directory.appendingPathComponent(TemplateCatalog.path(name, locale: locale) + ".mustache")
                #expect(FileManager.default.fileExists(atPath: file.path), "\(file.path)")
            }
        }
    }

    @Test("A template name maps to its locale's file")
    func paths() {
        #expect(TemplateCatalog.path("email/milestone.subject", locale: "en") == "email/en/milestone.subject")
        #expect(TemplateCatalog.path("messages/milestone_due", locale: "id") == "messages/id/milestone_due")
    }

    @Test("Variables, triple braces, sections, inverted sections and unescaped tags are found")
    func variablesFound() {
        let source = "Hi {{a}}, {{{b}}}! {{#c}}in c{{/c}} {{^d}}not d{{/d}} {{& e}} {{ f }} {{#g}}{{.}}{{/g}}"
        #expect(TemplateCatalog.variables(in: source) == ["a", "b", "c", "d", "e", "f", "g"])
    }

    @Test("Pragmas, comments, partials and delimiter changes are not variables")
    func nonVariablesIgnored() {
        let source = "{{% CONTENT_TYPE: TEXT}}\n{{! a comment about {x} }}{{> footer}}{{=<% %>=}}plain text {{name}}"
        #expect(TemplateCatalog.variables(in: source) == ["name"])
        #expect(TemplateCatalog.variables(in: "no tags at all, {single} braces, and an unclosed {{tag").isEmpty)
    }

    @Test("The bundled milestone subject uses only what the hub provides")
    func bundledSubjectVariables() throws {
        let file = TemplateBundle.directory.appendingPathComponent("email/en/milestone.subject.mustache")
        let source = try String(contentsOf: file, encoding: .utf8)
        #expect(TemplateCatalog.variables(in: source) == ["is_reminder", "is_due", "is_overdue", "title", "due_time"])
    }

    @Test("A missing template stops loading with a line naming its file")
    func missingTemplate() async throws {
        let folder = try copyOfTemplates()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("email/id/milestone.html.mustache"))
        let error = try #require(await loadError(folder))
        #expect(error.description.contains("email/id/milestone.html.mustache"), "\(error)")
    }

    @Test("A missing message template in English is named too")
    func missingMessageTemplate() async throws {
        let folder = try copyOfTemplates()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("messages/en/milestone_overdue.mustache"))
        let error = try #require(await loadError(folder))
        #expect(error.description.contains("messages/en/milestone_overdue.mustache"), "\(error)")
    }

    @Test("A variable the hub does not provide stops loading with a line naming it and its file")
    func unknownVariable() async throws {
        let folder = try copyOfTemplates()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("email/en/new_message.text.mustache")
        let source = try String(contentsOf: file, encoding: .utf8)
        try (source + "\nDiagnosis: {{diagnosis}}\n").write(to: file, atomically: true, encoding: .utf8)
        let error = try #require(await loadError(folder))
        #expect(error.description.contains("{{diagnosis}}"), "\(error)")
        #expect(error.description.contains("email/en/new_message.text.mustache"), "\(error)")
    }

    @Test("A variable one template may use is refused in another")
    func variableOfAnotherTemplate() async throws {
        let folder = try copyOfTemplates()
        defer { try? FileManager.default.removeItem(at: folder) }
        // `topic` belongs to education e-mails, not to milestone messages.
        let file = folder.appendingPathComponent("messages/id/milestone_due.mustache")
        let source = try String(contentsOf: file, encoding: .utf8)
        try (source + " {{topic}}").write(to: file, atomically: true, encoding: .utf8)
        let error = try #require(await loadError(folder))
        #expect(error.description.contains("{{topic}}"), "\(error)")
        #expect(error.description.contains("messages/id/milestone_due.mustache"), "\(error)")
    }

    @Test("An unchanged copy of the templates loads")
    func unchangedCopyLoads() async throws {
        let folder = try copyOfTemplates()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(await loadError(folder) == nil)
    }

    @Test("The milestone subject renders with its title in each locale", arguments: ["id", "en"])
    func rendersMilestoneSubject(locale: String) async throws {
        let catalog = try await TemplateCatalog()
        let title = "Edukasi perawatan luka"
        let reminder = catalog.render(
            "email/milestone.subject", locale: locale, ["title": title, "is_reminder": true, "due_time": "Senin 23 Nov 08:00"])
        #expect(!reminder.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
        #expect(reminder.contains(title))
        #expect(reminder.contains("Senin 23 Nov 08:00"))
        let overdue = catalog.render("email/milestone.subject", locale: locale, ["title": title, "is_overdue": true])
        #expect(overdue.contains(title))
        #expect(overdue != reminder)
    }

    @Test("Subjects differ between Indonesian and English")
    func localesDiffer() async throws {
        let catalog = try await TemplateCatalog()
        let context: TemplateVariables = ["title": "Discharge", "is_due": true]
        #expect(catalog.render("email/milestone.subject", locale: "id", context) != catalog.render("email/milestone.subject", locale: "en", context))
    }

    @Test("A text template does not HTML-escape what it is given")
    func textTemplatesAreNotEscaped() async throws {
        let catalog = try await TemplateCatalog()
        let subject = catalog.render("email/milestone.subject", locale: "en", ["title": "Diet & fluids <2L>", "is_due": true])
        #expect(subject.contains("Diet & fluids <2L>"))
    }

    @Test("Variables render as a dictionary would: texts escaped in HTML, numbers written, flags opening sections")
    func variablesRenderLikeADictionary() async throws {
        let catalog = try await TemplateCatalog()
        let message: TemplateVariables = [
            "recipient_name": "Ibu Sari", "case_url": "https://hub.example/cases/c1", "urgent": true, "author_name": "dr. Rina",
            "author_role": "PPA", "thread_label": "family", "body": "Minum <2L> & \"puasa\"", "redacted": false,
        ]
        let html = catalog.render("email/new_message.html", locale: "en", message)
        #expect(html.contains("Minum &lt;2L&gt; &amp; &quot;puasa&quot;"))
        #expect(!html.contains("withdrawn"))
        #expect(catalog.render("email/new_message.text", locale: "en", message).contains("Minum <2L> & \"puasa\""))
        #expect(catalog.render("email/new_message.subject", locale: "en", message).contains("[URGENT] New message from dr. Rina"))
        let escalation: TemplateVariables = [
            "recipient_name": "Budi", "case_url": "https://hub.example/cases/c1", "urgent": true, "ack_timeout": true,
            "authorization_overdue": false, "kind_label": "handoff", "thread_label": "PPA", "posted_time": "Monday 08:00", "round": 2,
        ]
        #expect(catalog.render("email/escalation.text", locale: "en", escalation).contains("This is escalation 2."))
    }
}
