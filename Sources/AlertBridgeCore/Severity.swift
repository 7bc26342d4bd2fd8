import Foundation

/// How bad an alert is. Ordered so that a merge can only raise an incident's severity.
public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
    case info, warning, error, critical

    var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .error: 2
        case .critical: 3
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }

    /// A `severity` label's value in any case (`Critical`, `CRITICAL`): rule authors write
    /// it as they like, and nobody is told when a critical alert runs the warning policy.
    /// (A `severity` field is exact: its sender gets the 400.)
    public init?(label: String) {
        guard let severity = Severity(rawValue: label)
            ?? Severity(rawValue: label.trimmingCharacters(in: .whitespaces).lowercased()) else { return nil }
        self = severity
    }

    /// The severity of an alert that names none it can read: its `severity` label if
    /// readable, else warning.
    public static func of(labels: Labels) -> Severity {
        labels["severity"].flatMap(Severity.init(label:)) ?? .warning
    }
}

/// Whether a monitor says the condition holds (`firing`) or has cleared (`resolved`).
public enum AlertStatus: String, Sendable, Codable {
    case firing, resolved
}
