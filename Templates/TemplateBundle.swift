import Foundation

/// The Mustache templates shipped with CaseHub, as bundled resources.
public enum TemplateBundle {
    /// The folder holding `email/`, `messages/` and `web/`.
    public static var directory: URL {
        Bundle.module.resourceURL!
    }
}
