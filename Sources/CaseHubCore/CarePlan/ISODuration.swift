/// An ISO 8601 duration as care plans write reminders: `PT24H`, `PT1H30M`, `P2D`, `P1W`.
///
/// Only units of fixed length are accepted (weeks, days, hours, minutes, seconds): "one
/// month before" has no single meaning, so `P1M` and `P1Y` are refused rather than guessed.
public struct ISODuration: Sendable, Equatable, CustomStringConvertible {
    /// The text as given, which is what the API shows back.
    public let text: String
    public let milliseconds: UInt64

    public var description: String { text }

    /// A year: a reminder further ahead than that is a typo, and the arithmetic stays bounded.
    static let maximumSeconds: UInt64 = 366 * 86_400

    /// Nil when `text` is not such a duration, or is longer than a year.
    public init?(_ text: String) {
        var rest = Substring(text)
        guard rest.first == "P", rest.count > 1 else { return nil }
        rest = rest.dropFirst()
        var seconds: UInt64 = 0
        var inTime = false
        var sawUnit = false
        var number = ""
        for character in rest {
            if character.isASCII, character.isNumber {
                number.append(character)
                continue
            }
            if character == "T" {
                guard !inTime, number.isEmpty else { return nil }
                inTime = true
                continue
            }
            guard let amount = UInt64(number) else { return nil }
            let unit: UInt64
            switch (character, inTime) {
            case ("W", false): unit = 7 * 86_400
            case ("D", false): unit = 86_400
            case ("H", true): unit = 3_600
            case ("M", true): unit = 60
            case ("S", true): unit = 1
            default: return nil
            }
            let (part, overflow) = amount.multipliedReportingOverflow(by: unit)
            guard !overflow, part <= Self.maximumSeconds - seconds else { return nil }
            seconds += part
            number = ""
            sawUnit = true
        }
        guard sawUnit, number.isEmpty, !(inTime && text.hasSuffix("T")) else { return nil }
        self.text = text
        self.milliseconds = seconds * 1000
    }
}
