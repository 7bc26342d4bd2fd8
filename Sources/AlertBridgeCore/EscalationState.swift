/// The escalation bookkeeping of one incident, stored with it and advanced only by
/// ``EscalationPlanner``.
public struct EscalationState: Sendable, Equatable, Codable {
    /// Escalation steps taken so far. Every page carries the step that decided it, and a
    /// step is taken at most once: the guard that keeps a tier from being paged twice.
    public var step: Int = 0
    /// Pass through the tiers, from 0; the policy's `repeat` allows that many more.
    public var cycle: Int = 0
    /// When the current tier was paged: its `escalate_after` runs from here.
    public var tierPagedAt: Timestamp?
    /// All tiers and repeats were paged and nobody acknowledged.
    public var ended = false
    /// The first acknowledgement, which the acknowledge SLA measures.
    public var firstAcknowledgedAt: Timestamp?
    public var ackSLABreached = false
    public var resolveSLABreached = false

    public init() {}
}
