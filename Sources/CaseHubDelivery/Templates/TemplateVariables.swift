import Mustache

/// The variables a template is rendered with, in the form Mustache reads quickest.
///
/// Given a `[String: Any]`, Mustache pays several dynamic casts per tag: a dictionary is a
/// parent only conditionally (a slow conformance check), and a string is written through
/// `String(describing:)`. Those casts cost about 5 % of an e-mail's CPU. Here the parent is
/// a struct that conforms outright (a class would cost a walk of its superclasses per cast)
/// and each text is already a renderable.
public struct TemplateVariables: MustacheParent, Sendable {
    private let values: [String: any Sendable]

    /// Texts (and numbers, as text) are written; flags open or close sections.
    public init(_ variables: [String: any Sendable]) {
        values = variables.mapValues { value -> any Sendable in
            switch value {
            case let text as String: Text(renderText: text)
            case let number as Int: Text(renderText: String(number))
            default: value
            }
        }
    }

    public func child(named name: String) -> Any? { values[name] }

    private struct Text: MustacheCustomRenderable, Sendable {
        let renderText: String
        var isNull: Bool { false }
    }
}

extension TemplateVariables: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, any Sendable)...) {
        self.init(Dictionary(elements) { _, last in last })
    }
}
