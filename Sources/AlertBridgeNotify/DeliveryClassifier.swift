import AlertBridgeCore
import Foundation

/// Whether a failed delivery is worth trying again: pure functions of what the
/// transport or the receiver said.
///
/// Transient: the connection failed (refused, reset, timed out, DNS), the receiver is
/// overloaded or broken (HTTP 5xx, 408, 429), an SMTP server answered 4xx. Permanent:
/// anything retrying cannot fix — other HTTP 4xx, an SMTP 5xx such as a rejected
/// recipient, refused credentials, a certificate that does not verify, TLS required
/// but not offered.
public enum DeliveryClassifier {
    /// How a transfer that got no usable answer failed.
    public static func classify(_ error: TransportError) -> DeliveryError {
        // 454 is RFC 3207's "TLS not available due to temporary reason".
        if error.kind == .tlsUnavailable {
            return (400..<500).contains(error.responseCode ?? 0) ? .transient(error.message) : .permanent(error.message)
        }
        if ![.connect, .dropped, .timeout].contains(error.kind), let code = error.responseCode {
            if (400..<500).contains(code) { return .transient(error.message) }
            if (500..<600).contains(code) { return .permanent(error.message) }
        }
        switch error.kind {
        case .connect, .dropped, .resolve, .timeout, .tlsHandshake, .rejected, .cancelled, .other:
            return .transient(error.message)
        case .tlsUnavailable, .tlsVerify, .loginDenied, .invalidRequest:
            return .permanent(error.message)
        }
    }

    /// `nil` when the receiver took the page (2xx).
    public static func classify(_ response: HTTPResponse, now: Timestamp) -> DeliveryError? {
        let status = response.status
        if (200..<300).contains(status) { return nil }
        let text = excerpt(response.body)
        let reason = "HTTP \(status)" + (text.isEmpty ? "" : ": \(text)")
        switch status {
        case 429, 503, 408, 500..<600:
            return .transient(reason, retryAfter: retryAfter(response.headers["retry-after"], now: now))
        case 300..<400:
            return .permanent("HTTP \(status): the receiver redirects; configure the URL it redirects to")
        default:
            return .permanent(reason)
        }
    }

    /// The longest `Retry-After` taken as it is: a page is given up once it is
    /// `delivery.max_age` old (at most a year), so any longer wait means the same.
    /// Bounding it keeps the arithmetic on it from overflowing.
    static let longestRetryAfter = Duration.seconds(400 * 86_400)

    /// `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3); `nil` when
    /// absent or unreadable. A date in the past means "now"; any wait is at most
    /// ``longestRetryAfter``.
    public static func retryAfter(_ value: String?, now: Timestamp) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        let longest = longestRetryAfter.milliseconds / 1000
        if value.allSatisfy(\.isASCII) && value.allSatisfy(\.isNumber) {
            return .seconds(min(Int64(value) ?? longest, longest))
        }
        guard let date = HTTPDate.parse(value) else { return nil }
        return .milliseconds(min(max(0, date.milliseconds - now.milliseconds), longestRetryAfter.milliseconds))
    }

    /// The start of a receiver's answer, on one line, for the timeline.
    public static func excerpt(_ body: [UInt8], limit: Int = 200) -> String {
        let text = String(decoding: body.prefix(limit * 4), as: UTF8.self)
        // Other control characters (a NUL above all, which PostgreSQL cannot store) become U+FFFD.
        let printable = String(String.UnicodeScalarView(text.unicodeScalars.map {
            $0.properties.generalCategory == .control && !$0.properties.isWhitespace ? "\u{FFFD}" : $0
        }))
        let oneLine = printable.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return oneLine.count > limit ? String(oneLine.prefix(limit)) + "…" : oneLine
    }
}

/// The three date formats HTTP recipients must accept (RFC 9110 §5.6.7): IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and
/// asctime (`Sun Nov  6 08:49:37 1994`).
enum HTTPDate {
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    static func parse(_ text: String) -> Timestamp? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        var day: Int?, month: Int?, year: Int?, time: String?
        if parts.count == 6, parts[5] == "GMT" {
            // IMF-fixdate: day-name, DD Mon YYYY HH:MM:SS GMT
            (day, month, year, time) = (Int(parts[1]), monthNumber(parts[2]), Int(parts[3]), parts[4])
        } else if parts.count == 4, parts[3] == "GMT" {
            // RFC 850: day-name, DD-Mon-YY HH:MM:SS GMT
            let date = parts[1].split(separator: "-").map(String.init)
            guard date.count == 3, let yy = Int(date[2]) else { return nil }
            (day, month, time) = (Int(date[0]), monthNumber(date[1]), parts[2])
            year = date[2].count == 2 ? (yy < 70 ? 2000 + yy : 1900 + yy) : yy
        } else if parts.count == 5 {
            // asctime: Day Mon D HH:MM:SS YYYY
            (day, month, year, time) = (Int(parts[2]), monthNumber(parts[1]), Int(parts[4]), parts[3])
        }
        guard let day, let month, let year, let time, (1...31).contains(day), (1...9999).contains(year) else { return nil }
        let clock = time.split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3, (0..<24).contains(clock[0]), (0..<60).contains(clock[1]), (0...60).contains(clock[2]) else {
            return nil
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Timestamp(seconds: days * 86_400 + Int64(clock[0] * 3600 + clock[1] * 60 + clock[2]))
    }

    private static func monthNumber(_ name: String) -> Int? {
        months.firstIndex(of: name.lowercased()).map { $0 + 1 }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
