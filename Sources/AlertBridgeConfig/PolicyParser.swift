import AlertBridgeCore
import Foundation
import Yams

/// Reads `escalation-policies/*.yaml`, one policy a file.
struct PolicyParser {
    /// Connector names from the server file, with their type when it was readable; nil
    /// when the server file could not be read, so names cannot be checked.
    let connectors: [String: ConnectorType?]?
    /// How the server file is named in an "unknown connector" problem.
    let serverFile: String

    private(set) var policies: [String: EscalationPolicy] = [:]
    /// Names of every policy a file declared, valid or not (see `RuleParser.policyNames`).
    private(set) var declaredNames: Set<String> = []
    /// Files whose policy name could not be read: rules naming it cannot be checked.
    private(set) var unnamedFiles = 0
    private var definitions: [String: String] = [:]

    init(connectors: [String: ConnectorType?]?, serverFile: String) {
        self.connectors = connectors
        self.serverFile = serverFile
    }

    static let keys = ["name", "tiers", "repeat", "ack_timeout", "auto_resolve_after", "windows", "sla"]

    mutating func parse(_ root: Node, in file: YAMLFile) {
        guard let fields = file.fields(root, allowed: Self.keys, required: ["name", "tiers"],
                                       expected: "a mapping holding one policy")
        else {
            unnamedFiles += 1
            return
        }
        var valid = true
        func read<T>(_ key: String, _ reader: (Node) -> T?) -> T? {
            guard let node = fields[key] else { return nil }
            let value = reader(node)
            if value == nil { valid = false }
            return value
        }

        let name = read("name") { file.name($0) }
        if name == nil { unnamedFiles += 1 }
        if let name, let node = fields["name"] {
            declaredNames.insert(name)
            if let first = definitions[name] {
                file.report("duplicate policy name \"\(name)\" (first defined at \(first))", at: node)
                valid = false
            } else {
                definitions[name] = file.place(of: node)
            }
        }
        let tiers = read("tiers") { self.tiers($0, in: file) }
        let repeatCount = read("repeat") { node -> Int? in
            guard let count = file.int(node) else { return nil }
            guard count >= 0 else {
                file.report("repeat must be 0 or more, found \(count)", at: node)
                return nil
            }
            // As a timer over 365d is: no on-call means it (black-box round 27 saw 2^63 - 1
            // taken, paging every 20 s, `repeat 1 of 9223372036854775807`).
            guard count <= EscalationPolicy.maxRepeat else {
                file.report("repeat must be \(EscalationPolicy.maxRepeat) at most, found \(count): each repeat pages every tier again", at: node)
                return nil
            }
            return count
        }
        let ackTimeout = read("ack_timeout") { file.duration($0) }
        let autoResolveAfter = read("auto_resolve_after") { file.duration($0) }
        let windows = read("windows") { self.windows($0, in: file) }
        let sla = read("sla") { node -> EscalationPolicy.SLA? in
            guard let fields = file.fields(node, allowed: ["acknowledge_within", "resolve_within"]) else { return nil }
            let acknowledge = fields["acknowledge_within"].map { file.duration($0) }
            let resolve = fields["resolve_within"].map { file.duration($0) }
            if acknowledge == .some(nil) || resolve == .some(nil) { return nil }
            return EscalationPolicy.SLA(acknowledgeWithin: acknowledge ?? nil, resolveWithin: resolve ?? nil)
        }

        guard valid, let name, let tiers else { return }
        policies[name] = EscalationPolicy(name: name, tiers: tiers, repeat: repeatCount ?? 0,
                                          ackTimeout: ackTimeout, autoResolveAfter: autoResolveAfter,
                                          windows: windows ?? [], sla: sla ?? .init())
    }

    private func tiers(_ node: Node, in file: YAMLFile) -> [EscalationPolicy.Tier]? {
        guard let items = file.list(node) else { return nil }
        guard !items.isEmpty else {
            file.report("a policy needs at least one tier", at: node)
            return nil
        }
        var tiers: [EscalationPolicy.Tier] = []
        var firstAt: [String: String] = [:]
        for item in items {
            let keys = ["name", "notify", "escalate_after"]
            guard let fields = file.fields(item, allowed: keys, required: keys) else { continue }
            let name = file.name(fields["name"])
            if let name, let node = fields["name"] {
                if let first = firstAt[name] {
                    file.report("duplicate tier name \"\(name)\" (first defined at \(first))", at: node)
                } else {
                    firstAt[name] = file.place(of: node)
                }
            }
            let notify = fields["notify"].flatMap { targets($0, in: file) }
            let escalateAfter = file.duration(fields["escalate_after"])
            if let name, let notify, let escalateAfter {
                tiers.append(EscalationPolicy.Tier(name: name, notify: notify, escalateAfter: escalateAfter))
            }
        }
        return tiers.count == items.count ? tiers : nil
    }

    private func targets(_ node: Node, in file: YAMLFile) -> [EscalationPolicy.Target]? {
        guard let items = file.list(node) else { return nil }
        guard !items.isEmpty else {
            file.report("a tier needs at least one notify target", at: node)
            return nil
        }
        var targets: [EscalationPolicy.Target] = []
        for item in items {
            guard let fields = file.fields(item, allowed: ["connector", "to"], required: ["connector"]),
                  let connectorNode = fields["connector"], let connector = file.name(connectorNode)
            else { continue }
            var recipients: [String]?
            var recipientNodes: [Node] = []
            if let toNode = fields["to"] {
                guard let list = file.list(toNode) else { continue }
                let read = list.compactMap { file.string($0) }
                guard read.count == list.count else { continue }
                recipients = read
                recipientNodes = list
            }
            if let connectors {
                guard let type = connectors[connector] else {
                    let defined = connectors.keys.sorted().joined(separator: ", ")
                    file.report("unknown connector \"\(connector)\" (defined: \(defined); "
                                + "connectors are defined in \(serverFile))", at: connectorNode)
                    continue
                }
                if type == .smtp, recipients?.isEmpty ?? true {
                    file.report("connector \"\(connector)\" sends email and needs recipients in \"to\"", at: item)
                    continue
                }
                // Delivery fails a page with any address it cannot send to, so each is checked
                // here; a chat or webhook target's `to` names whom the page is for ("for noc-apac").
                if type == .smtp {
                    let invalid = zip(recipients ?? [], recipientNodes).filter { !EmailAddress.isValid($0.0) }
                    for (address, node) in invalid {
                        file.report("\"\(address)\" is not an email address (expected a bare address such as noc@example.com)",
                                    at: node)
                    }
                    guard invalid.isEmpty else { continue }
                    // The same mailbox twice got the page twice (black-box round 27).
                    var seen: [String: Node] = [:]
                    var repeated = false
                    for (address, node) in zip(recipients ?? [], recipientNodes) {
                        if let first = seen[address.lowercased()] {
                            file.report("\"\(address)\" is listed twice in this target (first at line \(first.position.line), column "
                                        + "\(first.position.column)): each address gets the page once", at: node)
                            repeated = true
                        } else {
                            seen[address.lowercased()] = node
                        }
                    }
                    guard !repeated else { continue }
                }
            }
            targets.append(EscalationPolicy.Target(connector: connector, to: recipients ?? []))
        }
        return targets.count == items.count ? targets : nil
    }

    private func windows(_ node: Node, in file: YAMLFile) -> [EscalationPolicy.Window]? {
        guard let items = file.list(node) else { return nil }
        var windows: [EscalationPolicy.Window] = []
        var placed: [(name: String, schedule: WindowSchedule)] = []
        var nameLines: [String: Int] = [:]
        for item in items {
            let keys = ["name", "when", "escalate_after"]
            guard let fields = file.fields(item, allowed: keys, required: keys) else { continue }
            let name = file.name(fields["name"])
            let escalateAfter = file.duration(fields["escalate_after"])
            guard let whenNode = fields["when"], let when = file.string(whenNode) else { continue }
            let label = name.map { "window \"\($0)\"" } ?? "window"
            if let name, let nameNode = fields["name"] {
                if let first = nameLines[name] {
                    file.report("duplicate window name \"\(name)\" (first at line \(first))", at: nameNode)
                } else {
                    nameLines[name] = nameNode.position.line
                }
            }
            let schedule: WindowSchedule
            switch WindowSchedule.parse(when) {
            case .success(let parsed):
                schedule = parsed
            case .failure(.malformed):
                let why = WindowSchedule.impossibleTime(in: when).map { "\($0); " } ?? ""
                file.report("invalid \(label) time \"\(when)\" (\(why)expected \(WindowSchedule.expectedForm))", at: whenNode)
                continue
            case .failure(.unknownTimeZone(let zone)):
                // Zone names are case-sensitive: `Asia/seoul` is `Asia/Seoul` mistyped.
                let meant = TimeZone.knownTimeZoneIdentifiers.first { $0.lowercased() == zone.lowercased() }
                file.report("unknown time zone \"\(zone)\" in \(label) ("
                            + (meant.map { "did you mean \($0)? Zone names are case-sensitive" } ?? "expected an IANA name such as Asia/Seoul") + ")",
                            at: whenNode)
                continue
            case .failure(.abbreviatedTimeZone(let zone)):
                file.report("time zone \"\(zone)\" in \(label) is an abbreviation or an offset, not a zone (expected an IANA name such as "
                            + "America/New_York or Asia/Seoul, which follow daylight saving; a fixed offset is written Etc/GMT-9 for UTC+9)",
                            at: whenNode)
                continue
            case .failure(.empty):
                file.report("\(label) \"\(when)\" starts when it ends, so it is empty", at: whenNode)
                continue
            }
            for other in placed where schedule.overlaps(other.schedule) {
                let aliases = schedule.timeZone == other.schedule.timeZone ? ""
                    : ": \(other.schedule.timeZone) and \(schedule.timeZone) are one zone (\(WindowSchedule.canonicalZone(schedule.timeZone)))"
                file.report("\(label) (\(schedule.rangeText) \(schedule.timeZone)) overlaps window \"\(other.name)\" "
                            + "(\(other.schedule.rangeText) \(other.schedule.timeZone))\(aliases)", at: whenNode)
            }
            placed.append((name ?? "", schedule))
            if let name, let escalateAfter {
                windows.append(EscalationPolicy.Window(
                    name: name, startMinute: schedule.startMinute, endMinute: schedule.endMinute,
                    timeZone: schedule.timeZone, escalateAfter: escalateAfter))
            }
        }
        return windows.count == items.count ? windows : nil
    }
}
