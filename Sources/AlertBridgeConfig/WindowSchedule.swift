import AlertBridgeCore
import Foundation

/// The `when` of a policy window: `18:00-23:00 Asia/Seoul`.
///
/// A start later than the end crosses midnight (`22:00-02:00`); `24:00` may end a window
/// so that a whole evening up to midnight can be written without crossing it.
struct WindowSchedule: Equatable {
    /// Minutes after local midnight, 0..<1440.
    var startMinute: Int
    /// Minutes after local midnight, 1...1440.
    var endMinute: Int
    var timeZone: String

    enum Failure: Error, Equatable {
        case malformed
        case unknownTimeZone(String)
        case abbreviatedTimeZone(String)
        case empty
    }

    static let expectedForm = "\"HH:MM-HH:MM Area/City\", e.g. \"18:00-23:00 Asia/Seoul\""

    static func parse(_ text: String) -> Result<WindowSchedule, Failure> {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count == 2 else { return .failure(.malformed) }
        let times = words[0].split(separator: "-", omittingEmptySubsequences: false)
        guard times.count == 2,
              let start = minute(of: times[0], allowMidnightEnd: false),
              let end = minute(of: times[1], allowMidnightEnd: true)
        else { return .failure(.malformed) }
        let zone = String(words[1])
        if case .failure(let failure) = timeZone(named: zone) { return .failure(failure) }
        guard start != end else { return .failure(.empty) }
        return .success(WindowSchedule(startMinute: start, endMinute: end, timeZone: zone))
    }

    /// An IANA zone by its name, as windows and `time_zone:` write it. Abbreviations are
    /// refused first: Foundation knows some (`EST`) and not others (`KST`), and either way
    /// the reason to give is that an abbreviation is not a zone.
    static func timeZone(named name: String) -> Result<TimeZone, Failure> {
        guard !isAbbreviation(name) else { return .failure(.abbreviatedTimeZone(name)) }
        guard let zone = TimeZone(identifier: name) else { return .failure(.unknownTimeZone(name)) }
        return .success(zone)
    }

    /// Foundation also takes abbreviations and offsets, which are not zones: `EST` is UTC-5
    /// all year, so a New York window written with it is an hour off all summer; `PST`,
    /// `KST`, `UTC+9`. The common ones people write for a region's time are refused, and so
    /// are the three-letter IDs Java once had, which Foundation still takes and which mean
    /// another place than a reader would guess (`SST` is the Solomon Islands, not
    /// Singapore; `ECT` Paris, not Ecuador). IANA's own names (`CET`, `Japan`, `EST5EDT`,
    /// `GMT+0`) pass.
    static func isAbbreviation(_ zone: String) -> Bool {
        for prefix in ["UTC+", "UTC-", "GMT+", "GMT-"] where zone.hasPrefix(prefix) {
            return zone.dropFirst(4).contains { $0 != "0" && $0 != ":" }  // UTC+0 is UTC
        }
        return abbreviations.contains(zone)
    }

    private static let abbreviations: Set<String> = [
        "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT", "HST", "AKST", "AKDT", "AST", "ADT", "NST", "NDT",
        "BST", "IST", "CEST", "EEST", "WEST", "MSK", "JST", "KST", "SGT", "HKT", "PHT", "ICT", "WIB",
        "AEST", "AEDT", "ACST", "ACDT", "AWST", "NZST", "NZDT", "BRT", "ART", "CLT", "SAST",
        // Java's old IDs not listed above.
        "ACT", "AET", "AGT", "BET", "CAT", "CNT", "CTT", "EAT", "ECT", "IET", "MIT", "NET", "PLT", "PNT", "PRT",
        "SST", "VST",
    ]

    /// Whether some minute of the day lies in both windows. Windows in different zones
    /// are not compared: their offset changes with daylight saving time. Two names of one
    /// zone are one zone (``canonicalZone(_:)``): `UTC` and `Etc/UTC` passed as two.
    func overlaps(_ other: WindowSchedule) -> Bool {
        guard Self.canonicalZone(timeZone) == Self.canonicalZone(other.timeZone) else { return false }
        return segments.contains { a in
            other.segments.contains { b in a.lowerBound < b.upperBound && b.lowerBound < a.upperBound }
        }
    }

    /// The window as ranges within one day: two when it crosses midnight.
    private var segments: [Range<Int>] {
        startMinute < endMinute
            ? [startMinute..<endMinute]
            : [startMinute..<1440, 0..<endMinute]
    }

    /// The name tzdata links a zone's name to (`UTC` and `Zulu` are `Etc/UTC`, `Japan` is
    /// `Asia/Tokyo`), as the system's zone files link them; the name itself where they are
    /// not installed, or it is no link.
    static func canonicalZone(_ name: String) -> String {
        let directory = "/usr/share/zoneinfo/"
        let resolved = URL(fileURLWithPath: directory + name).resolvingSymlinksInPath().path
        return resolved.hasPrefix(directory) ? String(resolved.dropFirst(directory.count)) : name
    }

    var rangeText: String { "\(EscalationPolicy.Window.clock(startMinute))-\(EscalationPolicy.Window.clock(endMinute))" }

    /// Why a `when` whose times have the right shape is refused: `there is no hour 25`,
    /// `there is no minute 60`, `24:00 only ends a window`; `nil` for any other problem.
    static func impossibleTime(in text: String) -> String? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let range = words.first else { return nil }
        for (index, time) in range.split(separator: "-", omittingEmptySubsequences: false).enumerated() {
            let parts = time.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), hour >= 0, minute >= 0 else { continue }
            if minute >= 60 { return "there is no minute \(minute)" }
            if hour == 24, minute == 0, index == 0 { return "24:00 only ends a window; start at 00:00" }
            if hour >= 24, !(hour == 24 && minute == 0) { return "there is no hour \(hour)" }
        }
        return nil
    }

    private static func minute(of text: Substring, allowMidnightEnd: Bool) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let hour = Int(parts[0]), let minute = Int(parts[1]), minute < 60
        else { return nil }
        if hour == 24, minute == 0, allowMidnightEnd { return 1440 }
        guard hour < 24 else { return nil }
        return hour * 60 + minute
    }
}
