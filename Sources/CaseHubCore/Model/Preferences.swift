import Foundation

/// How a participant wants to be reached: e-mail on or off, and quiet hours in their time
/// zone during which routine e-mails wait. Urgent messages and escalations go through at once.
public struct Preferences: Sendable, Equatable {
    public var emailEnabled: Bool
    public var quietHours: QuietHours?

    public init(emailEnabled: Bool = true, quietHours: QuietHours? = nil) {
        self.emailEnabled = emailEnabled
        self.quietHours = quietHours
    }

    public static let `default` = Preferences()

    public var json: JSONValue {
        .members(["email": .bool(emailEnabled), "quiet_hours": quietHours?.json ?? .null])
    }
}

/// A daily span of local time, such as 21:00–06:00 in Asia/Jakarta (it may cross midnight).
public struct QuietHours: Sendable, Equatable {
    /// Minutes after local midnight.
    public var startMinute: Int
    public var endMinute: Int
    public var timeZone: String

    public static let defaultTimeZone = "Asia/Jakarta"

    /// Nil when a time is not `HH:MM` or the zone is not a known IANA name.
    public init?(start: String, end: String, timeZone: String = defaultTimeZone) {
        guard let startMinute = Self.minute(of: start), let endMinute = Self.minute(of: end), startMinute != endMinute,
            TimeZone(identifier: timeZone) != nil
        else { return nil }
        self.startMinute = startMinute
        self.endMinute = endMinute
        self.timeZone = timeZone
    }

    /// Reads what ``json`` wrote.
    public init?(json: JSONValue) {
        guard let start = json["start"]?.stringValue, let end = json["end"]?.stringValue else { return nil }
        self.init(start: start, end: end, timeZone: json["time_zone"]?.stringValue ?? Self.defaultTimeZone)
    }

    public var json: JSONValue {
        .members(["end": .string(Self.text(endMinute)), "start": .string(Self.text(startMinute)), "time_zone": .string(timeZone)])
    }

    /// When the quiet hours around `millis` end, or nil when `millis` is outside them. Local
    /// times are read in the zone's calendar, so a night across a daylight-saving change ends
    /// at the right hour.
    public func endOfQuiet(atMillis millis: UInt64) -> UInt64? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(secondsFromGMT: 7 * 3600)!
        let date = Date(timeIntervalSince1970: Double(millis) / 1000)
        let local = calendar.dateComponents([.hour, .minute], from: date)
        let minute = (local.hour ?? 0) * 60 + (local.minute ?? 0)
        let quiet = startMinute < endMinute ? (startMinute..<endMinute).contains(minute) : (minute >= startMinute || minute < endMinute)
        guard quiet,
            let end = calendar.nextDate(
                after: date, matching: DateComponents(hour: endMinute / 60, minute: endMinute % 60, second: 0), matchingPolicy: .nextTime)
        else { return nil }
        return UInt64((end.timeIntervalSince1970 * 1000).rounded())
    }

    static func minute(of text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let hour = Int(parts[0]), let minute = Int(parts[1]),
            (0..<24).contains(hour), (0..<60).contains(minute)
        else { return nil }
        return hour * 60 + minute
    }

    static func text(_ minute: Int) -> String {
        let hour = minute / 60, rest = minute % 60
        return (hour < 10 ? "0" : "") + "\(hour):" + (rest < 10 ? "0" : "") + "\(rest)"
    }
}
