import AlertBridgeCore
import ArgumentParser
import Foundation

/// Options every operator verb shares.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print the server's JSON instead of a table.")
    var json = false
}

struct Incidents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List incidents, newest first.", discussion: serverEnvironment)

    @Option(help: "open, triggered, acknowledged, resolved or all.")
    var status: String = "open"

    @Option(help: "How many at most (1-\(listMaximum)).")
    var limit: Int = 100

    @Option(help: ArgumentHelp("Only incidents of this severity: critical, error, warning or info (repeat, or commas, for several).",
                               valueName: "severity"))
    var severity: [String] = []

    @Option(help: ArgumentHelp("Only incidents with this label value, such as pop=ICN1 (repeat: all of them).", valueName: "name=value"))
    var label: [String] = []

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard ["open", "triggered", "acknowledged", "resolved", "all"].contains(status) else {
            throw ValidationError("--status must be open, triggered, acknowledged, resolved or all")
        }
        try checkLimit(limit)
        for name in severity.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) where Severity(label: String(name)) == nil {
            throw ValidationError("--severity \"\(name)\" is not critical, error, warning or info")
        }
        for pair in label where Matcher.labelValue(parsing: pair) == nil {
            throw ValidationError("--label \"\(pair)\" is not a label and its value, such as pop=ICN1")
        }
    }

    /// The labels a `--label` value holds when it reads as several (`pop=ICN1,service=cdn-edge`),
    /// or none.
    static func labelsInOne(_ pair: String) -> [String] {
        let parts = pair.split(separator: ",").map(String.init)
        guard parts.count > 1, parts.allSatisfy({ Matcher.labelValue(parsing: $0) != nil }) else { return [] }
        return parts
    }

    func run() async throws {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        let filters = severity.map { "&severity=" + ($0.addingPercentEncoding(withAllowedCharacters: unreserved) ?? $0) }.joined()
            + label.map { "&label=" + ($0.addingPercentEncoding(withAllowedCharacters: unreserved) ?? $0) }.joined()
        let data = try await request { try await $0.send("GET", "/api/v1/incidents?status=\(status)&limit=\(limit)\(filters)") }
        if output.json { return printRaw(data) }
        let list = try decodeAnswer(IncidentList.self, from: data)
        if list.incidents.isEmpty {
            let with = (severity + label).isEmpty ? "" : " with " + (severity + label).joined(separator: " and ")
            print("no \(status == "all" ? "" : status + " ")incidents\(with)")
            // `--label pop=ICN1,service=cdn-edge` looks for a pop whose value has a comma in it,
            // where `--severity` takes a list: said, not left to read as "nothing is wrong".
            let split = label.flatMap(Self.labelsInOne)
            if !split.isEmpty {
                printNote("(--label takes one label each: " + split.map { "--label " + shellWord($0) }.joined(separator: " ") + ")")
            }
            return
        }
        printTable(["ID", "STATUS", "SEVERITY", "TIER", "ALERTS", "CREATED", "DEDUP KEY", "TITLE"],
                   list.incidents.map { i in
                       [String(i.id), i.status, i.severity, tierText(i), String(i.distinct_alerts ?? i.alert_count), i.created_at,
                        clipped(i.dedup_key, columns: 48), i.title]
                   })
        guard list.incidents.count == limit else { return }
        printNote(cutNotice(limit: limit, canNarrow: status == "open" || status == "all"))
        // A triggered incident older than the newest `limit` is the one not to miss: in a list
        // of 167 open, the only PoP-down that paged fell off the end (black-box round 37).
        guard status == "open" || status == "all" else { return }
        let shown = Set(list.incidents.map(\.id))
        let triggered = try decodeAnswer(IncidentList.self, from: try await request {
            try await $0.send("GET", "/api/v1/incidents?status=triggered&limit=\(listMaximum)\(filters)")
        })
        let hidden = triggered.incidents.count { !shown.contains($0.id) }
        if hidden > 0 {
            // With the filters that counted them (black-box round 38: run as said, it listed 20, not 2).
            let same = (severity.map { "--severity " + shellWord($0) } + label.map { "--label " + shellWord($0) }).map { " " + $0 }.joined()
            printNote("(\(hidden == 1 ? "1 triggered incident older than these is" : "\(hidden) triggered incidents older than these are") "
                      + "not shown: alertbridge incidents --status triggered\(same))")
        }
    }
}

/// A word as a shell reads it back: as it is when it holds nothing a shell treats apart,
/// else in single quotes.
func shellWord(_ word: String) -> String {
    let plain = !word.isEmpty && word.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "=,._-/:@".unicodeScalars.contains($0)) }
    return plain ? word : "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
}

/// The tier, or that nobody is being paged for a triggered incident: nobody was paged in
/// this episode (`none yet`: a silence or an inhibition holds it, or its rule has no
/// policy; `show` says which), every tier was paged and nobody acknowledged
/// (`2, ended`), an open incident that inhibits it holds its next step (`1, held by #17`:
/// its PoP went down after it paged), or the current tier's pages did not reach anyone: failed for good
/// (`1, 1 page failed`: a 550 for every address, a webhook's 400) or failed so far and
/// retrying (`1, 2 pages retrying`: the mail server or the chat receiver is down). A plain
/// number for those read as "someone is being paged". An incident acknowledged or resolved
/// before its episode paged anyone (during its inhibit wait, or while held) says `none`:
/// `1` read as "tier 1 was paged" (black-box round 31).
func tierText(_ i: IncidentView) -> String {
    // Every alert recovered, kept open a while (`keep_open_for`): it resolves unless one fires
    // again. Also while acknowledged, and before any page (black-box round 32: it still
    // said `none yet, inhibit wait`).
    let recovered = i.kept_open_until != nil ? ", recovered" : ""
    guard i.status == "triggered" else { return (i.paged == false ? "none" : String(i.tier)) + recovered }
    if i.paged == false {
        if !recovered.isEmpty { return "none yet" + recovered }
        // Why, in a word: a page is seconds away, or an incident holds it (black-box round 30).
        if i.inhibit_wait_until != nil { return "none yet, inhibit wait" }
        if let held = i.inhibited_by, !held.isEmpty { return "none yet, held by " + held.map { "#\($0)" }.joined(separator: " ") }
        return "none yet"
    }
    var text = String(i.tier) + recovered
    if i.escalation_ended == true { text += ", ended" }
    // Its next step waits while an incident that inhibits it is open (its PoP went down).
    if let held = i.inhibited_by, !held.isEmpty { text += ", held by " + held.map { "#\($0)" }.joined(separator: " ") }
    if let undelivered = undeliveredText(i) { text += ", \(undelivered)" }
    return text
}

/// `show`'s `delivery` line: `2 pages not delivered yet, retrying: …`, or `nil` when every
/// page of this episode is out (or on its first attempt) and the current tier's reached
/// someone. A page still retrying counts whatever its tier: tier 1 never reached about a
/// PoP outage read as reached once tier 2 was paged (black-box round 25). Only
/// while triggered, as the TIER column: once someone has it, a page still queued is
/// dropped for mail and chat, and "someone paged was not reached" no longer matters.
func deliveryText(_ i: IncidentView) -> String? {
    let failed = i.failed_pages ?? 0, retrying = i.retrying_pages ?? 0
    guard i.status == "triggered", failed + retrying > 0 else { return nil }
    var parts: [String] = []
    if retrying > 0 { parts.append("\(counted(retrying, "page")) not delivered yet, retrying") }
    if failed > 0 { parts.append("\(counted(failed, "page")) to tier \(i.tier) failed for good in this episode") }
    return parts.joined(separator: "; ") + ": someone paged was not reached "
        + "(the timeline's delivery_failed entries say who and why)"
}

/// `1 page failed`, `2 pages retrying`, `1 page failed, 2 retrying`, or `nil` when every
/// page to the current tier reached someone.
func undeliveredText(_ i: IncidentView) -> String? {
    let failed = i.failed_pages ?? 0, retrying = i.retrying_pages ?? 0
    switch (failed, retrying) {
    case (0, 0): return nil
    case (0, _): return "\(counted(retrying, "page")) retrying"
    case (_, 0): return "\(counted(failed, "page")) failed"
    default: return "\(counted(failed, "page")) failed, \(retrying) retrying"
    }
}

/// The most one listing returns: the list APIs' own limit.
let listMaximum = 1000

func checkLimit(_ limit: Int) throws {
    guard (1...listMaximum).contains(limit) else { throw ValidationError("--limit must be from 1 to \(listMaximum)") }
}

/// A full page of a list may not be all there is: without this line a cut list reads as
/// everything there is. It names only the ways out that can show more.
func cutNotice(limit: Int, canNarrow: Bool) -> String {
    var ways: [String] = []
    if limit < listMaximum { ways.append("--limit up to \(listMaximum)") }
    if canNarrow { ways.append("--status to narrow") }
    return "(the newest \(limit) shown; there may be more" + (ways.isEmpty ? ")" : ": \(ways.joined(separator: ", or ")))")
}

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one incident with its alerts and timeline.", discussion: serverEnvironment)

    @Argument(help: "Incident id.") var id: Int64
    @Flag(help: "Every alert and every timeline entry of a storm incident (at most \(storm.alerts) alerts and \(storm.entries) alert entries otherwise).")
    var all = false
    @OptionGroup var output: OutputOptions

    func validate() throws { try validateID(id) }

    func run() async throws {
        let data = try await request { try await $0.send("GET", "/api/v1/incidents/\(id)") }
        if output.json { return printRaw(data) }
        printIncident(try decodeAnswer(IncidentView.self, from: data), shortened: !all)
    }

    /// What `show` prints of a storm incident without `--all`: one PoP's storm is hundreds
    /// of alerts, each also an entry on the timeline, and 400 lines hide the few that say
    /// who was paged and who acknowledged.
    static let storm = (alerts: 20, entries: 10)
}

/// The verbs that change an incident share their shape: ids, who, an optional note.
protocol IncidentActionCommand: AsyncParsableCommand {
    /// `ack` and `resolve` take several: one PoP's storm at 3 a.m. is a handful of incidents.
    var typedIDs: [TypedID] { get }
    var by: String { get }
    var output: OutputOptions { get }
    var path: String { get }
    var noteText: String? { get }
    var done: String { get }
    /// `ack --take-over`.
    var takeOver: Bool { get }
    /// The options it takes, as a mistyped one's hint lists them.
    static var options: [String] { get }
}

/// The body of an incident action: `{"by": "alice", "note": "…", "take_over": true}`.
struct ActionRequest: Encodable {
    var by: String
    var note: String?
    var take_over: Bool?
}

extension IncidentActionCommand {
    /// The ids, read once ``validate()`` has checked them.
    var ids: [Int64] { typedIDs.compactMap(\.id) }

    var takeOver: Bool { false }
    static var options: [String] { ["--note", "--by", "--json"] }

    func validate() throws {
        guard !typedIDs.isEmpty else { throw ValidationError("give the incident id (or several)") }
        for typed in typedIDs {
            guard let id = typed.id else { throw ValidationError(typed.notAnID(verb: path, options: Self.options)) }
            try validateID(id)
        }
        try checkBy(by)
        if let noteText, noteText.isEmpty { throw ValidationError("the note must not be empty") }
    }

    /// Each id in turn, once: a refusal of one (already acknowledged by a colleague, not
    /// found) is said on stderr and the others still go; the exit status is 1 if any was
    /// refused. A server that cannot be reached, a token it refuses, or an answer that is
    /// not alertbridge's (another server's page) stops at once.
    /// `--json` prints one answer per line.
    func run() async throws {
        let client = try APIClient.fromEnvironment()
        var refused = false
        var seen: Set<Int64> = []
        for id in ids where seen.insert(id).inserted {
            // Resolved while its alerts still fire, it reopens at their sender's next
            // notification (REOPENED, tier 1 paged): said, where the operator saw it reopen
            // "fired again" with no word why (black-box round 27). Taken over: from whom, as
            // the timeline says (black-box round 34).
            let before = (path == "resolve" || takeOver) && !output.json
                ? try? JSONDecoder().decode(IncidentView.self, from: try await client.send("GET", "/api/v1/incidents/\(id)"))
                : nil
            let stillFiring = path == "resolve" ? before?.firing_alerts ?? 0 : 0
            let holder = takeOver && before?.status == "acknowledged" ? before?.acknowledged_by : nil
            let data: Data
            do {
                data = try await client.send("POST", "/api/v1/incidents/\(id)/\(path)", body: ActionRequest(by: by, note: noteText, take_over: takeOver ? true : nil))
            } catch let refusal as Refused {
                guard refusal.aboutTheTarget else { throw fail(refusal.description) }
                _ = fail(refusal.description)
                refused = true
                continue
            }
            if output.json { printRaw(data); continue }
            let incident = try decodeAnswer(IncidentHeadline.self, from: data)
            let from = holder.map { $0 == by ? " again (its ack_timeout counts from now)" : " (taken over from \($0))" } ?? ""
            let to = path == "escalate" ? incident.escalatedTo.map { " " + $0 } ?? "" : ""
            print(oneLine("incident \(incident.id) \(done) by \(by)\(to)\(from): \(incident.title)"))
            if stillFiring > 0 {
                // Named: several ids print several notes, and stderr may be read apart from
                // stdout's lines (black-box round 37: five alike, none saying which).
                let (alerts, their, they, them) = stillFiring == 1
                    ? ("1 alert of incident \(incident.id) was still firing", "its", "it is", "it")
                    : ("\(stillFiring) alerts of incident \(incident.id) were still firing", "their", "they are", "them")
                printNote("note: \(alerts): \(their) sender's next notification opens the incident again and pages tier 1; "
                          + "if \(they) expected to go on firing, silence \(them) (alertbridge silence add)")
            }
        }
        if refused { throw ExitCode(1) }
    }
}

/// How the operator verbs reach the server, in each one's `--help`: at 3 a.m. `ack --help`
/// did not say how to reach or log in to it (black-box round 34).
let serverEnvironment = """
    The server: ALERTBRIDGE_URL (default http://127.0.0.1:8080). Its token, sent when \
    set: ALERTBRIDGE_TOKEN (one with the operate scope). How long to wait for each \
    answer: ALERTBRIDGE_TIMEOUT (default 30s).
    """

/// `--by` when not given: `$USER`, or `operator` when that is unset or empty.
let defaultUser = ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "operator"

struct Ack: IncidentActionCommand {
    static let configuration = CommandConfiguration(abstract: "Acknowledge incidents: you are on them.", discussion: serverEnvironment)
    @Argument(help: .init("Incident ids.", valueName: "ids")) var typedIDs: [TypedID]
    @Option(help: "A note for the timeline.") var note: String?
    @Option(help: "Who acknowledges ($USER unless given).") var by: String = defaultUser
    @Flag(help: "Also when someone acknowledged it already: take it over, or restart your own ack_timeout.")
    var takeOver = false
    @OptionGroup var output: OutputOptions
    static var options: [String] { ["--note", "--by", "--take-over", "--json"] }
    var path: String { "ack" }
    var noteText: String? { note }
    var done: String { "acknowledged" }
}

struct Resolve: IncidentActionCommand {
    static let configuration = CommandConfiguration(abstract: "Resolve incidents.", discussion: serverEnvironment)
    @Argument(help: .init("Incident ids.", valueName: "ids")) var typedIDs: [TypedID]
    @Option(help: "A note for the timeline.") var note: String?
    @Option(help: "Who resolves ($USER unless given).") var by: String = defaultUser
    @OptionGroup var output: OutputOptions
    var path: String { "resolve" }
    var noteText: String? { note }
    var done: String { "resolved" }
}

struct Note: IncidentActionCommand {
    /// `notes`, as the API's path says: an operator typed it and read "3 unexpected arguments".
    static let configuration = CommandConfiguration(abstract: "Add a note to an incident's timeline.", discussion: serverEnvironment, aliases: ["notes"])
    @Argument(help: "Incident id.") var id: Int64
    @Argument(help: "The note.") var text: String
    @Option(help: "Who writes it ($USER unless given).") var by: String = defaultUser
    @OptionGroup var output: OutputOptions
    var typedIDs: [TypedID] { [TypedID(argument: String(id))] }
    var path: String { "notes" }
    var noteText: String? { text }
    var done: String { "annotated" }
}

struct Escalate: IncidentActionCommand {
    static let configuration = CommandConfiguration(abstract: "Page the incident's next tier now.", discussion: serverEnvironment)
    @Argument(help: "Incident id.") var id: Int64
    @Option(help: "Why, for the timeline and the page to the tier it calls.") var note: String?
    @Option(help: "Who escalates ($USER unless given).") var by: String = defaultUser
    @OptionGroup var output: OutputOptions
    var typedIDs: [TypedID] { [TypedID(argument: String(id))] }
    var path: String { "escalate" }
    var noteText: String? { note }
    var done: String { "escalated" }
}

/// An id as typed. ArgumentParser reads the value of an option it does not know as an id,
/// and said only `The value 'on it' is invalid for '<ids>'` for `ack 16 --nte "on it"`
/// (black-box round 25); taken as a word, `validate()` refuses it and names the option
/// typed before it.
struct TypedID: ExpressibleByArgument {
    let text: String
    init(argument: String) { text = argument }
    var id: Int64? { Int64(text) }

    /// Why it is refused, naming the option typed before it when that is not one of
    /// `options` (the value of an option it does not know is read as an id).
    func notAnID(verb: String, options: [String], arguments: [String] = CommandLine.arguments) -> String {
        var why = "'\(text)' is not an incident id: ids are whole numbers, such as 16"
        if text.contains(",") { why += "; give several ids with spaces between them (\(verb) 16 17)" }
        if text.hasPrefix("#"), Int64(text.dropFirst()) != nil { why += ", without the #" }
        guard let at = arguments.firstIndex(of: text), at > 0 else { return why }
        let before = arguments[at - 1]
        guard before.hasPrefix("-"), !options.contains(before) else { return why }
        return why + "; is '\(before)' a mistyped option? (\(verb) takes \(options.joined(separator: ", ")))"
    }
}

/// An incident's or a silence's id, as the server numbers them.
func validateID(_ id: Int64, of what: String = "incident") throws {
    guard id > 0 else { throw ValidationError("the \(what) id must be a positive whole number") }
}

/// `--by` of every verb that acts: the timeline names who did it.
func checkBy(_ by: String) throws {
    if let problem = ActorName.problem(by) { throw ValidationError("--by \(problem)") }
}

/// Runs a request, turning a refusal into the one-line message and exit 1.
/// - Parameter options: the option each request field came from: the server names its
///   JSON field (`duration: must end after …`), and the operator typed an option.
func request(options: [String: String] = [:], _ body: (APIClient) async throws -> Data) async throws -> Data {
    do {
        return try await body(APIClient.fromEnvironment())
    } catch let refused as Refused {
        var text = refused.description
        if let (field, option) = options.first(where: { text.hasPrefix($0.key + ": ") }) {
            text = option + ": " + text.dropFirst(field.count + 2)
        }
        throw fail(text)
    }
}

/// The server's answer read as `T`: JSON that alertbridge does not send (a field missing,
/// another server's) is one line naming the server, not a decoding error's dump.
func decodeAnswer<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
    do {
        return try JSONDecoder().decode(type, from: data)
    } catch {
        func name(_ path: [any CodingKey]) -> String {
            "\"" + path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") + "\""
        }
        let why = switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: "no \(name(context.codingPath + [key]))"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?: "\(name(context.codingPath)) of another type"
        case .dataCorrupted(let context)? where !context.codingPath.isEmpty: "\(name(context.codingPath)) unreadable"
        default: "not valid JSON"
        }
        throw fail("the server at \(passwordRedacted(APIClient.configuredURL)) answers with JSON alertbridge does not send (\(why)): is ALERTBRIDGE_URL right?")
    }
}

/// A remark about the output rather than part of it: on stderr, so a pipe reading the
/// table sees only rows; stdout is flushed first, so a terminal shows it below the table.
func printNote(_ text: String) {
    fflush(nil)
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

func printRaw(_ data: Data) {
    print(String(decoding: data, as: UTF8.self))
}

/// `2 alerts (60 copies received), 1 firing`: the incident's alerts (``AlertCount``) and
/// those firing.
func alertTally(_ i: IncidentView) -> String {
    "\(AlertCount(distinct: i.alerts?.count ?? 0, firing: i.firing_alerts, copies: i.alert_count).text), \(i.firing_alerts) firing"
}

func printIncident(_ i: IncidentView, shortened: Bool = false) {
    print(oneLine("Incident \(i.id): \(i.title)"))
    var fields: [[String]] = [
        ["status", i.status], ["severity", i.severity], ["dedup key", i.dedup_key], ["policy", "\(i.policy) (tier \(i.tier))"],
        ["alerts", alertTally(i)], ["created", i.created_at],
        ["last alert", i.last_alert_at],
    ]
    if let note = i.policy_note { fields.insert(["", note], at: 4) }
    if i.paged == false {
        // Per episode: one that paged before it resolved and reopened held read as never paged.
        let since = i.first_paged_at == nil ? "" : " since it last reopened"
        fields.append(["paged", i.resolved_at == nil ? "nobody yet\(since) (the timeline says why)" : "nobody\(since) (the timeline says why)"])
    } else if let at = i.first_paged_at, at != i.created_at {
        fields.append(["first paged", at])
    }
    if let at = i.acknowledged_at { fields.append(["acknowledged", "\(at) by \(i.acknowledged_by ?? "?")"]) }
    if let at = i.resolved_at {
        let how = switch i.resolution.flatMap(Resolution.init(rawValue:)) {
        case .alerts: " (its alerts recovered)"
        case .autoResolve: " (auto_resolve_after: no new alert, no recovery received)"
        case .operator, nil: ""
        }
        fields.append(["resolved", "\(at) by \(i.resolved_by ?? "?")\(how)"])
    }
    // The earliest of its timers (next tier, an SLA deadline, ack timeout, auto-resolve, the
    // end of a hold), not always a page: an operator must not read it as "tier 2 at".
    if let at = i.next_escalation_at { fields.append(["next timer", at]) }
    if let next = i.next_step { fields.append(["next step", next.text]) }
    // Said of a triggered one only: acknowledged since, someone holds it (black-box round 29).
    if i.escalation_ended == true, i.status == "triggered" {
        fields.append(["escalation", "ended: every tier was paged and nobody holds it"])
    }
    if let delivery = deliveryText(i) { fields.append(["delivery", delivery]) }
    if let breaches = i.sla_breaches, !breaches.isEmpty { fields.append(["SLA breached", breaches.joined(separator: ", ")]) }
    fields.append(["labels", i.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")])
    printTable(nil, fields.map { ["  " + $0[0], $0[1]] })
    if let alerts = i.alerts, !alerts.isEmpty {
        print("\nAlerts")
        // Firing first: those are what someone works on.
        let ordered = alerts.filter { $0.status == "firing" } + alerts.filter { $0.status != "firing" }
        let shown = shortened ? Array(ordered.prefix(Show.storm.alerts)) : ordered
        // Copies of each alert, recoveries too: the `alerts` line above counts firing ones.
        // With the host, as pages name it: a fingerprint says nothing at 3 a.m. (black-box round 28).
        printTable(["  FINGERPRINT", "HOST", "STATUS", "RECEIVED", "LAST SEEN", "SUMMARY"],
                   shown.map { ["  " + $0.fingerprint, clipped($0.labels["instance"] ?? $0.labels["host"] ?? "-", columns: 40), $0.status,
                                String($0.received_count), $0.last_seen_at, $0.summary] })
        if shown.count < ordered.count { print("  … \(ordered.count - shown.count) more (show --all)") }
    }
    if let timeline = i.timeline, !timeline.isEmpty {
        print("\nTimeline")
        // In time order: the batches of concurrent requests commit a few milliseconds out of
        // it. By the time itself: the text leaves whole seconds' `.000` out.
        func at(_ entry: (offset: Int, element: IncidentView.Entry)) -> (Int64, Int) {
            (RFC3339.parse(entry.element.at)?.milliseconds ?? 0, entry.offset)
        }
        var rows = timeline.enumerated().sorted { at($0) < at($1) }
            .map { ["  " + $0.element.at, $0.element.kind, $0.element.by ?? "", $0.element.detail ?? ""] }
        // A storm's entries of one alert firing or recovering: of each run of them, the
        // first and the last few, and how many between, so what is shown stays in time
        // order. The incident's own entries (a note, a severity raised, a hold) all stay.
        if shortened {
            func perAlert(_ row: [String]) -> Bool { row[1] == "alert" && (row[3].contains(" firing: ") || row[3].contains(" recovered")) }
            let keep = Show.storm.entries / 2
            var shown: [[String]] = [], run: [[String]] = []
            func endRun() {
                if run.count > Show.storm.entries {
                    shown += run.prefix(keep) + [["  …", "alert", "", "\(run.count - 2 * keep) more alerts firing or recovering (show --all)"]]
                        + run.suffix(keep)
                } else {
                    shown += run
                }
                run = []
            }
            for row in rows {
                if perAlert(row) { run.append(row) } else { endRun(); shown.append(row) }
            }
            endRun()
            rows = shown
        }
        printTable(["  AT", "KIND", "BY", "DETAIL"], rows)
    }
}
