import AlertBridgeCore
import ArgumentParser
import Foundation

/// `alertbridge silence add|list|extend|expire`: maintenance windows.
struct SilenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silence",
        abstract: "Silence alerts for a maintenance window: recorded, but nobody is paged.",
        subcommands: [Add.self, List.self, Extend.self, Expire.self])

    /// `alertbridge silence` alone did nothing and exited 0, as if it had worked: a script
    /// that forgot the verb must fail (black-box round 20).
    func run() async throws {
        throw ValidationError("say what to do: silence add, list, extend or expire (alertbridge silence --help)")
    }

    /// Read here as the server reads it, so a bad one is a usage error (exit 2); and none
    /// under a second, as for the timers of the configuration files (`10ms` for `10m`).
    static func checkDuration(_ text: String) throws {
        guard let length = DurationText.parse(text), length >= .seconds(1) else {
            let meant = DurationText.meant(text).map { " (did you mean \($0)?)" } ?? ""
            throw ValidationError("--duration must be a duration of at least 1s, such as 2h or 1h30m\(meant)")
        }
        guard length <= DurationText.longest else { throw ValidationError("--duration must be at most 365d") }
    }

    /// An RFC 3339 option, read here as the server reads it, so a bad one is a usage error.
    static func time(_ name: String, _ text: String?) throws -> Timestamp? {
        guard let text else { return nil }
        guard let at = RFC3339.parse(text) else {
            throw ValidationError("\(name) must be an RFC 3339 time such as 2026-11-30T02:00:00Z")
        }
        return at
    }

    /// `--end`, which must be later than `now`: said in the operator's own terms (a pasted
    /// date), before the server's, which speaks of the duration the CLI adds (`add`) or of
    /// the silence's current end (`extend`).
    static func end(_ text: String?, now: Timestamp) throws -> Timestamp? {
        guard let text, let at = try time("--end", text) else { return nil }
        guard at > now else { throw ValidationError("--end \(text) is in the past: a silence ends later than now") }
        return at
    }

    /// The client's reading of the server's silence JSON.
    struct View: Decodable {
        var id: Int64
        var status: String
        var matchers: [String]
        var starts_at: String
        var ends_at: String
        var created_by: String
        var comment: String
        var expired_by: String?
        var extended_by: String?

        /// Who set it, and who changed it since.
        var who: String {
            var changes: [String] = []
            for (what, by) in [("extended", extended_by), ("expired", expired_by)] {
                if let by { changes.append(by == created_by ? what : "\(what) by \(by)") }
            }
            return changes.isEmpty ? created_by : "\(created_by) (\(changes.joined(separator: ", ")))"
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Silence the alerts every matcher holds for, from now (or --start) for --duration or until --end.",
            discussion: """
                Matchers are Alertmanager's: alertbridge silence add 'pop = ICN1' 'alertname =~ "Edge.*"' \
                --duration 2h --comment "ICN1 fibre maintenance"
                """ + "\n\n" + serverEnvironment)

        @Argument(help: "Label matchers, all of which must hold: 'pop = ICN1', 'alertname =~ \"Edge.*\"'.")
        var matchers: [String]

        @Option(help: "Why: shown in the silence list and on every incident it holds.")
        var comment: String

        @Option(help: "How long, from the start: 30m, 2h, 1d (default 1h unless --end is given).")
        var duration: String?

        @Option(help: "When it starts, RFC 3339 (default now).")
        var start: String?

        @Option(help: "When it ends, RFC 3339; instead of --duration.")
        var end: String?

        @Option(help: "Who silences ($USER unless given).")
        var by: String = defaultUser

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard !matchers.isEmpty else { throw ValidationError("give at least one matcher, such as 'pop = ICN1'") }
            // Parsed here as the server parses them, so a typo is a usage error (exit 2) that
            // says which argument is wrong, not a refusal (exit 1) after a round trip.
            var parsed: [Matcher] = []
            for (i, text) in matchers.enumerated() {
                do {
                    parsed.append(try Matcher(parsing: text))
                } catch {
                    let why = switch error {
                    case .syntax(_, let reason): reason
                    case .invalidLabelName, .invalidRegex: error.description
                    }
                    // `silence add pop = ICN1` unquoted: the shell made three arguments of it.
                    let split = !["=", "!=", "=~", "!~"].contains { text.contains($0) } && matchers.count > 1
                    throw ValidationError("matcher \(i + 1) ('\(text)') is not valid: \(why)"
                                          + (split ? " (quote each matcher as one argument, such as 'pop = ICN1')" : ""))
                }
            }
            // As the server refuses them, before anything is sent (exit 2, as for a typo).
            guard parsed.contains(where: { !$0.matches([:]) }) else {
                throw ValidationError("\(matchers.joined(separator: " ")): \(Silence.holdsEveryAlert)")
            }
            guard !comment.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--comment must say why") }
            if duration != nil && end != nil { throw ValidationError("give --duration or --end, not both") }
            if let duration { try SilenceCommand.checkDuration(duration) }
            try checkBy(by)
            let now = SystemClock().now()
            let startsAt = try SilenceCommand.time("--start", start), endsAt = try SilenceCommand.end(end, now: now)
            // Said in the operator's own terms, before the server's, which speaks of a start
            // it moved to now.
            if let start, endsAt == nil, let at = startsAt, at + .seconds(60) < now {
                throw ValidationError("--start \(start) is in the past: leave it out to start now, or give --end")
            }
            if let start, let end, let from = startsAt, let to = endsAt, to <= from {
                throw ValidationError("--end \(end) is not after --start \(start)")
            }
        }

        func run() async throws {
            let body = NewSilence(matchers: matchers, starts_at: start, ends_at: end,
                                  duration: end == nil ? (duration ?? "1h") : nil, by: by, comment: comment)
            let data = try await request { try await $0.send("POST", "/api/v1/silences", body: body) }
            if output.json { return printRaw(data) }
            let s = try decodeAnswer(View.self, from: data)
            print(oneLine("silence \(s.id) \(s.status) from \(s.starts_at) until \(s.ends_at): \(s.matchers.joined(separator: " "))"))
            await noteIncidentsItDoesNotStop()
        }

        /// A silence holds alerts from now on; an incident already paging goes on, as under
        /// a PagerDuty maintenance window. The operator who just silenced FRA1 was paged for
        /// FRA1 three more times and nothing had said so (black-box round 25). A hint, by the
        /// incidents' labels (their first alert's): the silence is made whatever this finds.
        func noteIncidentsItDoesNotStop() async {
            guard let data = try? await request({ try await $0.send("GET", "/api/v1/incidents?status=triggered&limit=\(listMaximum)") }),
                  let list = try? JSONDecoder().decode(IncidentList.self, from: data) else { return }
            let parsed = matchers.compactMap { try? Matcher(parsing: $0) }
            // One that paged nobody yet (in its inhibit wait, held) is held by the silence too.
            let ids = list.incidents.filter { i in i.paged != false && parsed.allSatisfy { $0.matches(i.labels) } }.map(\.id).sorted()
            guard !ids.isEmpty else { return }
            // Ten named at most: a storm's thousand made an 11 KB line.
            let shown = ids.prefix(10).map(String.init)
            let more = list.incidents.count == listMaximum ? " and more" : ids.count > 10 ? " and \(ids.count - 10) more" : ""
            let which = ids.count == 1 ? "incident \(ids[0]) matches it and was" : "incidents \(shown.joined(separator: ", "))\(more) match it and were"
            printNote("note: \(which) paging before it: a silence holds what arrives from now on, not an escalation "
                      + "already running; acknowledge or resolve \(ids.count == 1 ? "it" : "them") (alertbridge ack "
                      + "\(shown.joined(separator: " ")))")
        }

        struct NewSilence: Encodable {
            var matchers: [String]
            var starts_at: String?
            var ends_at: String?
            var duration: String?
            var by: String
            var comment: String
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List silences, newest first.", discussion: serverEnvironment)

        @Option(help: "current (active or pending), active, pending, expired or all.")
        var status: String = "current"

        @Option(help: "How many at most (1-\(listMaximum)).")
        var limit: Int = listMaximum

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard ["current", "active", "pending", "expired", "all"].contains(status) else {
                throw ValidationError("--status must be current, active, pending, expired or all")
            }
            try checkLimit(limit)
        }

        func run() async throws {
            let data = try await request { try await $0.send("GET", "/api/v1/silences?status=\(status)&limit=\(limit)") }
            if output.json { return printRaw(data) }
            let list = try decodeAnswer([String: [View]].self, from: data)["silences"] ?? []
            if list.isEmpty { return print("no \(status == "all" ? "" : status + " ")silences") }
            printTable(["ID", "STATUS", "STARTS", "ENDS", "BY", "MATCHERS", "COMMENT"],
                       list.map { s in
                           [String(s.id), s.status, s.starts_at, s.ends_at, s.who, s.matchers.joined(separator: " "), s.comment]
                       })
            if list.count == limit { printNote(cutNotice(limit: limit, canNarrow: ["current", "all"].contains(status))) }
        }
    }

    struct Extend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Keep a silence longer (maintenance runs over); nothing it holds pages at the old end.",
            discussion: "--duration counts from now (or from a pending silence's start).\n\n" + serverEnvironment)

        @Argument(help: "Silence id.") var id: Int64

        @Option(help: "How long from now: 30m, 2h.")
        var duration: String?

        @Option(help: "When it ends, RFC 3339; instead of --duration.")
        var end: String?

        @Option(help: "Why (default: the silence's own comment).")
        var comment: String?

        @Option(help: "Who extends it ($USER unless given).")
        var by: String = defaultUser

        @OptionGroup var output: OutputOptions

        func validate() throws {
            try validateID(id, of: "silence")
            try checkBy(by)
            guard duration != nil || end != nil else { throw ValidationError("give --duration or --end") }
            guard duration == nil || end == nil else { throw ValidationError("give --duration or --end, not both") }
            if let duration { try SilenceCommand.checkDuration(duration) }
            _ = try SilenceCommand.end(end, now: SystemClock().now())
            if let comment, comment.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ValidationError("--comment must say why")
            }
        }

        func run() async throws {
            let body = Extension(ends_at: end, duration: duration, by: by, comment: comment)
            let fields = ["duration": "--duration \(duration ?? "") (counted from now, or from the start of a pending silence)",
                          "ends_at": "--end \(end ?? "")"]
            let data = try await request(options: fields) { try await $0.send("POST", "/api/v1/silences/\(id)/extend", body: body) }
            if output.json { return printRaw(data) }
            let s = try decodeAnswer(View.self, from: data)
            // A pending silence is pending until its start, not its end: say both.
            let when = s.status == "pending" ? "pending from \(s.starts_at) until \(s.ends_at)" : "\(s.status) until \(s.ends_at)"
            print(oneLine("silence \(s.id) extended by \(by), \(when): \(s.matchers.joined(separator: " "))"))
        }

        struct Extension: Encodable {
            var ends_at: String?
            var duration: String?
            var by: String
            var comment: String?
        }
    }

    struct Expire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End a silence now; the incidents it held page at once if they are still open.",
            discussion: serverEnvironment)

        @Argument(help: "Silence id.") var id: Int64
        @Option(help: "Who expires it ($USER unless given).") var by: String = defaultUser
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try validateID(id, of: "silence")
            try checkBy(by)
        }

        func run() async throws {
            let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
            let who = by.addingPercentEncoding(withAllowedCharacters: unreserved) ?? by
            let data = try await request { try await $0.send("DELETE", "/api/v1/silences/\(id)?by=\(who)") }
            if output.json { return printRaw(data) }
            let s = try decodeAnswer(View.self, from: data)
            print(oneLine("silence \(s.id) expired by \(by): \(s.matchers.joined(separator: " "))"))
        }
    }
}
