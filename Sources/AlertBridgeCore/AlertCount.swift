/// How many alerts an incident holds, as pages and `show` say it: `1 alert`, or `3 alerts
/// (60 copies received)` when its senders re-sent them. "60 alerts received" for one alert
/// re-sent every 10 s read as sixty problems (black-box round 29).
public struct AlertCount: Sendable, Equatable {
    /// Distinct alerts, by fingerprint; at least those firing, and at least one.
    public var held: Int
    /// `3 alerts (60 copies received)`.
    public var text: String

    /// - Parameters:
    ///   - distinct: the incident's alerts, by fingerprint.
    ///   - firing: those of them that fire.
    ///   - copies: the firing copies received (`Incident.alertCount`).
    public init(distinct: Int, firing: Int, copies: Int) {
        held = max(distinct, firing, 1)
        text = (held == 1 ? "1 alert" : "\(held) alerts") + (copies > held ? " (\(copies) copies received)" : "")
    }
}
