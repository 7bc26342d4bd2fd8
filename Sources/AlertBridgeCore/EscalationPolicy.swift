/// An escalation policy as loaded from `escalation-policies/*.yaml`.
///
/// Its `Codable` form is each incident's stored snapshot: a field added later must decode
/// when absent (`decodeIfPresent`), or incidents opened before the upgrade cannot read
/// their snapshot and stop escalating (their timeline says so).
public struct EscalationPolicy: Sendable, Equatable, Codable {
    /// The most `repeat` a policy file may ask for.
    public static let maxRepeat = 100

    /// Who to page: a connector and, for email, its recipients.
    public struct Target: Sendable, Hashable, Codable {
        public var connector: String
        public var to: [String]

        public init(connector: String, to: [String] = []) {
            self.connector = connector
            self.to = to
        }
    }

    public struct Tier: Sendable, Equatable, Codable {
        public var name: String
        public var notify: [Target]
        public var escalateAfter: Duration

        public init(name: String, notify: [Target], escalateAfter: Duration) {
            self.name = name
            self.notify = notify
            self.escalateAfter = escalateAfter
        }
    }

    /// A time-of-day window (`18:00-23:00 Asia/Seoul`) whose timers replace the tiers' own.
    public struct Window: Sendable, Hashable, Codable {
        public var name: String
        /// Minutes after local midnight.
        public var startMinute: Int
        public var endMinute: Int
        public var timeZone: String
        public var escalateAfter: Duration

        /// As a policy's `when:` writes it: `18:00-23:00 Asia/Seoul`.
        public var when: String { "\(Self.clock(startMinute))-\(Self.clock(endMinute)) \(timeZone)" }

        /// `18:05` for 1085 minutes after midnight (`24:00` for 1440).
        public static func clock(_ minute: Int) -> String {
            let hh = minute / 60, mm = minute % 60
            return "\(hh < 10 ? "0" : "")\(hh):\(mm < 10 ? "0" : "")\(mm)"
        }

        public init(name: String, startMinute: Int, endMinute: Int, timeZone: String, escalateAfter: Duration) {
            self.name = name
            self.startMinute = startMinute
            self.endMinute = endMinute
            self.timeZone = timeZone
            self.escalateAfter = escalateAfter
        }
    }

    public struct SLA: Sendable, Equatable, Codable {
        public var acknowledgeWithin: Duration?
        public var resolveWithin: Duration?

        public init(acknowledgeWithin: Duration? = nil, resolveWithin: Duration? = nil) {
            self.acknowledgeWithin = acknowledgeWithin
            self.resolveWithin = resolveWithin
        }
    }

    public var name: String
    public var tiers: [Tier]
    /// Tier `number`, counted from 1 as incidents and pages count them; `nil` past the
    /// last (an incident stored under an earlier, longer version of the policy).
    public func tier(_ number: Int) -> Tier? {
        tiers.indices.contains(number - 1) ? tiers[number - 1] : nil
    }
    public var `repeat`: Int
    public var ackTimeout: Duration?
    public var autoResolveAfter: Duration?
    public var windows: [Window]
    public var sla: SLA

    public init(name: String, tiers: [Tier], repeat: Int = 0, ackTimeout: Duration? = nil,
                autoResolveAfter: Duration? = nil, windows: [Window] = [], sla: SLA = SLA()) {
        self.name = name
        self.tiers = tiers
        self.repeat = `repeat`
        self.ackTimeout = ackTimeout
        self.autoResolveAfter = autoResolveAfter
        self.windows = windows
        self.sla = sla
    }
}
