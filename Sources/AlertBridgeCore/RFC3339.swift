/// RFC 3339 parsing and formatting without `DateFormatter`.
///
/// Every alert carries timestamps and every API answer prints them, so this sits on
/// the hot path; civil-date arithmetic (Howard Hinnant's days-from-civil) is exact
/// and allocation-free.
public enum RFC3339 {
    /// Parses `2026-11-23T18:05:00Z`, `2026-11-23T18:05:00.123+09:00` and similar, and the
    /// ISO 8601 offset without a colon (`+0900`) that PagerDuty's own examples use. A date
    /// that does not exist (`2026-02-31`) or an offset past ±23:59 is refused, not moved.
    /// Go's zero time (`0001-01-01T00:00:00Z`, Alertmanager's "no end") parses too.
    public static func parse(_ text: String) -> Timestamp? {
        text.utf8.withContiguousStorageIfAvailable(parse(utf8:)) ?? Array(text.utf8).withUnsafeBufferPointer(parse(utf8:))
    }

    /// Parses the UTF-8 bytes of a time as ``parse(_:)`` does, so the ingest decoder can
    /// read one straight from the request body without making a `String` first.
    public static func parse(utf8 b: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        guard b.count >= 20 else { return nil }
        func num(_ start: Int, _ count: Int) -> Int? {
            var value = 0
            for i in start..<start + count {
                let d = Int(b[i]) - 48
                guard d >= 0 && d <= 9 else { return nil }
                value = value * 10 + d
            }
            return value
        }
        guard let year = num(0, 4), b[4] == 45, let month = num(5, 2), b[7] == 45, let day = num(8, 2),
              b[10] == 84 || b[10] == 116 || b[10] == 32,
              let hour = num(11, 2), b[13] == 58, let minute = num(14, 2), b[16] == 58, let second = num(17, 2),
              (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
              hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var millis = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 3 { millis = millis * 10 + Int(b[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            while digits < 3 { millis *= 10; digits += 1 }
        }
        guard i < b.count else { return nil }
        var offsetMinutes = 0
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45, b.count - i == 6 || b.count - i == 5 {
            let colon = b.count - i == 6
            guard !colon || b[i + 3] == 58, let oh = num(i + 1, 2), let om = num(i + (colon ? 4 : 3), 2),
                  oh < 24, om < 60 else { return nil }
            offsetMinutes = (oh * 60 + om) * (b[i] == 45 ? -1 : 1)
            i = b.count
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return Timestamp(milliseconds: seconds * 1000 + Int64(millis))
    }

    /// Formats as `2026-11-23T18:05:00Z`, adding `.123` only when there are milliseconds.
    public static func format(_ t: Timestamp) -> String {
        let ms = t.milliseconds
        var seconds = ms / 1000
        var millis = ms % 1000
        if millis < 0 { millis += 1000; seconds -= 1 }
        var days = seconds / 86_400
        var rem = seconds % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        let (y, m, d) = civilFromDays(Int(days))
        var out = [UInt8]()
        out.reserveCapacity(24)
        func put(_ v: Int, _ width: Int) {
            var digits = [UInt8](repeating: 48, count: width)
            var v = v
            var k = width - 1
            while k >= 0 { digits[k] = UInt8(48 + v % 10); v /= 10; k -= 1 }
            out.append(contentsOf: digits)
        }
        put(y, 4); out.append(45); put(m, 2); out.append(45); put(d, 2); out.append(84)
        put(Int(rem / 3600), 2); out.append(58); put(Int(rem % 3600 / 60), 2); out.append(58); put(Int(rem % 60), 2)
        if millis != 0 { out.append(46); put(Int(millis), 3) }
        out.append(90)
        return String(decoding: out, as: UTF8.self)
    }

    /// `not an RFC 3339 time: "2026-02-29T10:00:00Z" (February 2026 has 28 days)`: the
    /// refusal of a time that did not parse, alike on every ingest format.
    public static func refusal(_ text: String) -> String {
        "not an RFC 3339 time: \"\(text)\"\(impossibleDate(text))"
    }

    /// Why a time that did not parse is wrong, when it is shaped like one but names a day
    /// or a time of day the calendar does not have: ` (February 2026 has 28 days)`,
    /// ` (there is no month 13)`, ` (there is no hour 24)`; else nothing. Said after "not an
    /// RFC 3339 time: …", where `2026-02-30T10:00:00Z` alone looks right at 3 a.m.
    public static func impossibleDate(_ text: String) -> String {
        let b = Array(text.utf8.prefix(19))
        func num(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count, b[range].allSatisfy({ (48...57).contains($0) }) else { return nil }
            return Int(String(decoding: b[range], as: UTF8.self))
        }
        guard b.count >= 10, b[4] == 45, b[7] == 45,
              let year = num(0..<4), let month = num(5..<7), let day = num(8..<10) else { return "" }
        guard (1...12).contains(month) else { return " (there is no month \(month))" }
        let days = daysIn(month: month, year: year)
        guard (1...days).contains(day) else { return " (\(monthNames[month - 1]) \(year) has \(days) days)" }
        guard b.count == 19, b[13] == 58, b[16] == 58, let hour = num(11..<13), let minute = num(14..<16),
              let second = num(17..<19) else { return "" }
        if hour > 23 { return " (there is no hour \(hour))" }
        if minute > 59 { return " (there is no minute \(minute))" }
        if second > 60 { return " (there is no second \(second))" }
        return ""
    }

    private static let monthNames = ["January", "February", "March", "April", "May", "June", "July", "August",
                                     "September", "October", "November", "December"]

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
    public static func civilFromDays(_ z: Int) -> (Int, Int, Int) {
        let z = z + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
