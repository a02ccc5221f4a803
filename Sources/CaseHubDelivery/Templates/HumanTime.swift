import Foundation

/// Times as people read them in a message: "Senin, 23 November 2026 15.00 WIB" or
/// "Monday, 23 November 2026 15:00 (Asia/Jakarta)", in the hub's time zone.
struct HumanTime {
    let timeZone: TimeZone

    init(timeZone identifier: String) {
        self.timeZone = TimeZone(identifier: identifier) ?? TimeZone(secondsFromGMT: 7 * 3600)!
    }

    func format(millis: UInt64, locale: String) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let date = Date(timeIntervalSince1970: Double(millis) / 1000)
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: date)
        let (year, month, day) = (parts.year ?? 0, parts.month ?? 1, parts.day ?? 1)
        let (hour, minute, weekday) = (parts.hour ?? 0, parts.minute ?? 0, parts.weekday ?? 1)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        if locale == "en" {
            let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
            let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
            return "\(days[weekday - 1]), \(day) \(months[month - 1]) \(year) \(two(hour)):\(two(minute)) (\(timeZone.identifier))"
        }
        let months = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober", "November", "Desember"]
        let days = ["Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"]
        return "\(days[weekday - 1]), \(day) \(months[month - 1]) \(year) \(two(hour)).\(two(minute)) \(Self.indonesianZone(timeZone))"
    }

    /// WIB, WITA, WIT for Indonesia's zones; the zone's name elsewhere.
    static func indonesianZone(_ zone: TimeZone) -> String {
        switch zone.identifier {
        case "Asia/Jakarta", "Asia/Pontianak": "WIB"
        case "Asia/Makassar", "Asia/Ujung_Pandang": "WITA"
        case "Asia/Jayapura": "WIT"
        default: zone.identifier
        }
    }
}
