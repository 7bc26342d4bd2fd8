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
}

/// Whether a monitor says the condition holds (`firing`) or has cleared (`resolved`).
public enum AlertStatus: String, Sendable, Codable {
    case firing, resolved
}
