import Foundation
import Synchronization

/// Time-of-day windows (`18:00-23:00 Asia/Seoul`) and the deadlines they shape.
///
/// The timer in force at a moment is the window's while the moment is inside a
/// window, else the tier's own. A tier escalates at the first moment at which the
/// time since it was paged reaches the timer in force at that moment: paged at 17:55
/// with a 15-minute tier and a 10-minute peak window from 18:00, it escalates at
/// 18:05. Local times come from Foundation's calendar in the window's zone, so
/// daylight-saving shifts move the window's instants as the wall clock does.
public enum EscalationWindows {
    /// Whether `instant` lies inside `window` (start inclusive, end exclusive).
    public static func contains(_ window: EscalationPolicy.Window, _ instant: Timestamp) -> Bool {
        guard let zone = TimeZone(identifier: window.timeZone) else { return false }
        let date = Date(timeIntervalSince1970: Double(instant.milliseconds) / 1000)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.hour, .minute], from: date)
        let minute = (c.hour ?? 0) * 60 + (c.minute ?? 0)
        if window.startMinute < window.endMinute {
            return minute >= window.startMinute && minute < window.endMinute
        }
        return minute >= window.startMinute || minute < window.endMinute
    }

    /// The timer in force at `instant`.
    public static func timer(at instant: Timestamp, tier: Duration, windows: [EscalationPolicy.Window]) -> Duration {
        windows.first { contains($0, instant) }?.escalateAfter ?? tier
    }

    /// When a tier paged at `start` escalates.
    ///
    /// Asked in bursts with equal arguments (every incident one ingest batch opens is
    /// paged at the same instant under the same policy), and each answer costs calendar
    /// arithmetic in the window's zone, so recent answers are kept.
    public static func deadline(from start: Timestamp, tier: Duration, windows: [EscalationPolicy.Window]) -> Timestamp {
        guard !windows.isEmpty else { return start + tier }
        let key = DeadlineKey(start: start, tier: tier, windows: windows)
        if let known = recentDeadlines.withLock({ $0[key] }) { return known }
        let answer = computeDeadline(from: start, tier: tier, windows: windows)
        recentDeadlines.withLock { recent in
            if recent.count >= 256 { recent.removeAll(keepingCapacity: true) }
            recent[key] = answer
        }
        return answer
    }

    private struct DeadlineKey: Hashable {
        var start: Timestamp
        var tier: Duration
        var windows: [EscalationPolicy.Window]
    }

    private static let recentDeadlines = Mutex<[DeadlineKey: Timestamp]>([:])

    private static func computeDeadline(from start: Timestamp, tier: Duration, windows: [EscalationPolicy.Window]) -> Timestamp {
        let horizon = start + ([tier] + windows.map(\.escalateAfter)).max()!
        let instants = windows.flatMap { boundaries(of: $0, from: start, to: horizon) }
            .filter { $0 > start && $0 <= horizon }
        let points = Array(Set(instants)).sorted()
        var segmentStart = start
        for end in points + [Timestamp(milliseconds: .max)] {
            let candidate = max(segmentStart, start + timer(at: segmentStart, tier: tier, windows: windows))
            if candidate < end { return candidate }
            segmentStart = end
        }
        return start + tier
    }

    /// Every instant between two times at which the window may open or close: each
    /// moment the wall clock in the window's zone reads its start or end, and each
    /// daylight-saving jump. Whether the window is open is decided by the wall clock
    /// (``contains(_:_:)``), so it only changes at these instants: a start inside a
    /// spring-forward gap opens the window at the jump, and a start inside a fall-back
    /// hour is read twice, once on each pass. Extra instants only split a stretch.
    static func boundaries(of window: EscalationPolicy.Window, from: Timestamp, to: Timestamp) -> [Timestamp] {
        guard let zone = TimeZone(identifier: window.timeZone) else { return [] }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        func date(_ t: Timestamp) -> Date { Date(timeIntervalSince1970: Double(t.milliseconds) / 1000) }
        func instant(_ d: Date) -> Timestamp { Timestamp(milliseconds: Int64((d.timeIntervalSince1970 * 1000).rounded())) }
        let low = from - .seconds(86_400), high = to + .seconds(86_400)
        var out: [Timestamp] = []
        var jump = date(low)
        while let next = zone.nextDaylightSavingTimeTransition(after: jump), instant(next) <= high {
            out.append(instant(next))
            jump = next
        }
        var day = calendar.startOfDay(for: date(low))
        while instant(day) <= high {
            let c = calendar.dateComponents([.year, .month, .day], from: day)
            guard let y = c.year, let m = c.month, let d = c.day else { break }
            // The day's midnight as if it were UTC, then shifted by each offset in force that day.
            let midnightUTC = Int64(RFC3339.daysFromCivil(year: y, month: m, day: d)) * 86_400
            let offsets = Set([0, 12, 24, 36].map { zone.secondsFromGMT(for: day.addingTimeInterval(Double($0) * 3600)) })
            for minute in [window.startMinute, window.endMinute] {
                for offset in offsets {
                    let candidate = Timestamp(milliseconds: (midnightUTC + Int64(minute) * 60 - Int64(offset)) * 1000)
                    let wall = calendar.dateComponents([.hour, .minute], from: date(candidate))
                    if (wall.hour ?? -1) * 60 + (wall.minute ?? -1) == minute % 1440 { out.append(candidate) }
                }
            }
            guard let next = calendar.date(byAdding: .day, value: 1, to: day) else { break }
            day = next
        }
        return out
    }
}
