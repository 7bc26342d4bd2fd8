/// Durations as people write them in YAML and on the command line: `30s`, `10m`, `1h30m`, `7d`.
public enum DurationText {
    /// The longest timer a configuration may set: a year. A longer one means "never", which
    /// a policy says by leaving the timer out, and the escalation planner walks peak windows
    /// day by day up to a deadline.
    public static let longest = Duration.seconds(365 * 86_400)

    /// What a duration under a second was most likely meant to be: `10m` for `10ms` (not
    /// for `500ms`, which is no typo for 8h20m). `nil` when it is no such typo.
    public static func meant(_ text: String) -> String? {
        guard text.hasSuffix("ms"), let duration = parse(text), duration < .milliseconds(60) else { return nil }
        return String(text.dropLast())
    }

    /// Parses a positive or zero duration; `nil` for anything else.
    public static func parse(_ text: String) -> Duration? {
        var total: Int64 = 0
        var number: Int64? = nil
        var sawUnit = false
        var chars = Array(text.utf8)[...]
        guard !chars.isEmpty else { return nil }
        while let c = chars.first {
            chars = chars.dropFirst()
            if c >= 48 && c <= 57 {
                let (v, overflow) = (number ?? 0).multipliedReportingOverflow(by: 10)
                guard !overflow, v < 1_000_000_000 else { return nil }
                number = v + Int64(c - 48)
                continue
            }
            guard let n = number else { return nil }
            let unit: Int64
            switch c {
            case UInt8(ascii: "d"): unit = 86_400_000
            case UInt8(ascii: "h"): unit = 3_600_000
            case UInt8(ascii: "s"): unit = 1000
            case UInt8(ascii: "m"):
                if chars.first == UInt8(ascii: "s") { chars = chars.dropFirst(); unit = 1 } else { unit = 60_000 }
            default: return nil
            }
            let (part, overflow) = n.multipliedReportingOverflow(by: unit)
            let (sum, overflowSum) = total.addingReportingOverflow(part)
            guard !overflow, !overflowSum else { return nil }
            total = sum
            number = nil
            sawUnit = true
        }
        guard number == nil, sawUnit else { return nil }
        return .milliseconds(total)
    }

    /// Formats like Go's `time.Duration`: `1h30m`, `10m`, `45s`.
    public static func format(_ d: Duration) -> String {
        var ms = d.milliseconds
        if ms == 0 { return "0s" }
        var out = ""
        let units: [(Int64, String)] = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s"), (1, "ms")]
        for (size, name) in units where ms >= size {
            out += "\(ms / size)\(name)"
            ms %= size
        }
        return out
    }

    /// To the nearest whole second, at least `1s`: a time people read (`3m36s`), where
    /// milliseconds made `1s38ms` read like 38 seconds.
    public static func formatSeconds(_ d: Duration) -> String {
        format(.seconds(max(1, (d.milliseconds + 500) / 1000)))
    }
}
