import AlertBridgeConfig
import AlertBridgeCore
import Foundation
import TestProcesses
import Testing

/// The built `alertbridge` binary's operator verbs, run as a subprocess against a live server.
@Suite("alertbridge CLI against a live server")
struct CLITests {
    static let operatorName = "e2e-operator"

    /// Runs `alertbridge ARGS` with `ALERTBRIDGE_URL=url`, `ALERTBRIDGE_TOKEN=token` (unset
    /// by default) and `USER` set to ``operatorName``.
    static func cli(_ arguments: String..., url: String, user: String = operatorName, token: String? = nil) async throws -> ProcessResult {
        try await cli(arguments, url: url, user: user, token: token)
    }

    static func cli(_ arguments: [String], url: String, user: String = operatorName, token: String? = nil,
                    environment extra: [String: String] = [:]) async throws -> ProcessResult {
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        environment["ALERTBRIDGE_URL"] = url
        environment["ALERTBRIDGE_TOKEN"] = token
        environment["USER"] = user
        return try await run(try Paths.alertbridgeBinary(), arguments, environment: environment)
    }

    /// A refusal is exactly one line on stderr and nothing on stdout.
    static func expectOneLineRefusal(_ result: ProcessResult, containing text: String,
                                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 1, "\(result)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.localizedCaseInsensitiveContains(text), "\(result)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "\(result)", sourceLocation: sourceLocation)
    }

    static let alert = Data("""
        {"source": "cdn-monitor", "status": "firing", "severity": "critical",
         "summary": "p95 latency 1.4s at ICN1 (threshold 800ms)",
         "labels": {"alertname": "EdgeLatencyHigh", "pop": "ICN1", "region": "apac", "service": "cdn-edge",
                    "instance": "icn1-edge-01:9113"},
         "value": 1.4, "threshold": 0.8}
        """.utf8)

    /// One PoP's storm at 3 a.m. is a handful of incidents: `ack 3 4 5` takes them all. One a
    /// colleague took already is said on stderr, the others still go, and the exit is 1.
    @Test("ack and resolve take several ids; a refused one does not stop the others")
    func severalIDs() async throws {
        try await LiveServer.with { server in
            let url = server.baseURL
            var ids: [Int64] = []
            for alertname in ["EdgeLatencyHigh", "EdgeErrorRateHigh", "CacheHitRatioLow"] {
                let alert = Data(#"{"source": "m", "summary": "\#(alertname) at SIN1", "labels": {"alertname": "\#(alertname)", "pop": "SIN1", "service": "cdn-edge"}}"#.utf8)
                ids.append(try #require(try API.decoder.decode(API.IngestResult.self, from: try await server.api.ingest("/api/v1/alerts", alert)).incidentId))
            }
            #expect(Set(ids).count == 3)
            #expect(try await Self.cli("ack", "\(ids[1])", "--by", "bob", url: url).status == 0)
            let all = try await Self.cli(["ack"] + ids.map(String.init) + ["--note", "SIN1 storm"], url: url)
            #expect(all.status == 1, "\(all)")
            #expect(all.stdout.split(separator: "\n").map { $0.prefix { $0 != ":" } }
                    == ["incident \(ids[0]) acknowledged by \(Self.operatorName)", "incident \(ids[2]) acknowledged by \(Self.operatorName)"], "\(all)")
            #expect(all.stderr.split(separator: "\n").count == 1 && all.stderr.contains("incident \(ids[1]) is already acknowledged by bob"), "\(all)")
            for id in ids { #expect(try await server.api.incident(id).status == "acknowledged") }
            let resolved = try await Self.cli(["resolve"] + ids.map(String.init) + ["--json"], url: url)
            #expect(resolved.status == 0, "\(resolved)")
            #expect(resolved.stdout.split(separator: "\n").count == 3, "one JSON answer per line: \(resolved)")
            for id in ids { #expect(try await server.api.incident(id).status == "resolved") }
            // An id given twice is acted on once; a server that cannot be reached stops at the first.
            let fresh = Data(#"{"source": "m", "summary": "s", "labels": {"alertname": "OriginDown", "pop": "SIN1"}}"#.utf8)
            let again = try #require(try API.decoder.decode(API.IngestResult.self, from: try await server.api.ingest("/api/v1/alerts", fresh)).incidentId)
            let twice = try await Self.cli("ack", "\(again)", "\(again)", url: url)
            #expect(twice.status == 0 && twice.stdout.split(separator: "\n").count == 1, "\(twice)")
            Self.expectOneLineRefusal(try await Self.cli("ack", "1", "2", "3", url: "http://127.0.0.1:\(try freeLocalPort())"),
                                      containing: "cannot reach alertbridge")
        }
    }

    /// In a regional event the NOC lists one PoP, or only what is critical, among hundreds
    /// of incidents (black-box round 29: `grep` was the only way).
    /// A report whose window reaches back past `retention:` says what it cannot count; one
    /// as long as the retention does not (black-box rounds 41 and 42).
    @Test("report says when its window reaches past the retention")
    func reportAndRetention() async throws {
        try await LiveServer.with(retention: .seconds(2 * 86_400)) { server in
            let url = server.baseURL
            let past = try await Self.cli("report", "--since", "30d", url: url)
            #expect(past.status == 0 && past.stdout.contains("(30d): 0 (0 open, 0 resolved); incidents resolved before ")
                    && past.stdout.contains(" are deleted (retention), so those still open count and those resolved before then do not"), "\(past)")
            let json = try await Self.cli("report", "--since", "30d", "--json", url: url)
            #expect(json.stdout.contains(#""deleted_before" : "2"#) || json.stdout.contains(#""deleted_before":"2"#), "\(json)")
            for window in ["2d", "1d"] {
                let inside = try await Self.cli("report", "--since", window, url: url)
                #expect(inside.stdout.hasSuffix("): 0 (0 open, 0 resolved)\n"), "\(inside)")
            }
        }
    }

    @Test("incidents --label and --severity list only what matches")
    func listingFilters() async throws {
        try await LiveServer.with { server in
            let url = server.baseURL
            for (alertname, pop) in [("EdgeLatencyHigh", "SIN1"), ("CacheHitRatioLow", "SIN1"), ("EdgeLatencyHigh", "HKG1")] {
                let alert = Data(#"{"source": "m", "summary": "\#(alertname) at \#(pop)", "labels": {"alertname": "\#(alertname)", "pop": "\#(pop)", "service": "cdn-edge", "severity": "critical"}}"#.utf8)
                _ = try await server.api.ingest("/api/v1/alerts", alert)
            }
            func titles(_ arguments: String...) async throws -> [String] {
                let listed = try await Self.cli(["incidents"] + arguments, url: url)
                #expect(listed.status == 0, "\(listed)")
                return listed.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ").suffix(3).joined(separator: " ") }
            }
            #expect(try await titles("--label", "pop=SIN1") == ["CacheHitRatioLow at SIN1", "EdgeLatencyHigh at SIN1"])
            // The cache-hit-ratio rule makes its alerts warnings whatever the sender says.
            #expect(try await titles("--label", "pop=SIN1", "--severity", "warning") == ["CacheHitRatioLow at SIN1"])
            #expect(try await titles("--severity", "critical,error", "--label", "service=cdn-edge") == ["EdgeLatencyHigh at HKG1", "EdgeLatencyHigh at SIN1"])
            #expect(try await titles("--severity", "info").isEmpty)
            let none = try await Self.cli("incidents", "--label", "pop=NRT9", "--severity", "critical", url: url)
            #expect(none.stdout == "no open incidents with critical and pop=NRT9\n" && none.stderr.isEmpty, "\(none)")
            // Two labels in one value, as `--severity` takes a list: the value has no comma, so
            // nothing matches, and the note says how to ask.
            let joined = try await Self.cli("incidents", "--label", "pop=SIN1,service=cdn-edge", url: url)
            #expect(joined.stdout == "no open incidents with pop=SIN1,service=cdn-edge\n", "\(joined)")
            #expect(joined.stderr == "(--label takes one label each: --label pop=SIN1 --label service=cdn-edge)\n", "\(joined)")
            let severity = try await Self.cli("incidents", "--severity", "sev1", url: url)
            #expect(severity.status == 2 && severity.stderr.contains("--severity \"sev1\" is not critical, error, warning or info"), "\(severity)")
            let label = try await Self.cli("incidents", "--label", "SIN1", url: url)
            #expect(label.status == 2 && label.stderr.contains("--label \"SIN1\" is not a label and its value, such as pop=ICN1"), "\(label)")
        }
    }

    @Test("list, show, ack, resolve and note an incident; refusals exit 1 with one line")
    func operatorVerbs() async throws {
        try await LiveServer.with { server in
            let api = server.api
            let url = server.baseURL
            let created = try API.decoder.decode(API.IngestResult.self, from: try await api.ingest("/api/v1/alerts", Self.alert))
            #expect(created.outcome == "created")
            let id = try #require(created.incidentId)
            let key = "EdgeLatencyHigh/ICN1/cdn-edge"
            #expect(created.dedupKey == key)

            // incidents: an aligned table with the incident's id and dedup key.
            let table = try await Self.cli("incidents", url: url)
            #expect(table.status == 0, "\(table)")
            let lines = table.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 2, "a header and one row: \(table)")
            if lines.count == 2 {
                let header = lines[0], row = lines[1]
                #expect(header.hasPrefix("ID"), "\(table)")
                #expect(row.hasPrefix("\(id) "), "\(table)")
                let headerColumn = try #require(header.range(of: "DEDUP KEY")).lowerBound.utf16Offset(in: header)
                let rowColumn = try #require(row.range(of: key)).lowerBound.utf16Offset(in: row)
                #expect(headerColumn == rowColumn, "the DEDUP KEY column lines up: \(table)")
                let titleColumn = try #require(header.range(of: "TITLE")).lowerBound.utf16Offset(in: header)
                let titleInRow = try #require(row.range(of: "p95 latency")).lowerBound.utf16Offset(in: row)
                #expect(titleColumn == titleInRow, "the TITLE column lines up: \(table)")
            }

            // incidents --json: the server's JSON, with the incident.
            let json = try await Self.cli("incidents", "--json", url: url)
            #expect(json.status == 0, "\(json)")
            let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            let listed = try #require(parsed?["incidents"] as? [[String: Any]], "\(json)")
            #expect(listed.count == 1)
            #expect((listed.first?["id"] as? NSNumber)?.int64Value == id)
            #expect(listed.first?["dedup_key"] as? String == key)

            // show: title, the alert and the timeline.
            let shown = try await Self.cli("show", "\(id)", url: url)
            #expect(shown.status == 0, "\(shown)")
            #expect(shown.stdout.contains("Incident \(id): p95 latency 1.4s at ICN1 (threshold 800ms)"), "\(shown)")
            #expect(shown.stdout.contains("Timeline"), "\(shown)")
            #expect(shown.stdout.contains("created"), "\(shown)")
            #expect(shown.stdout.contains(key), "\(shown)")
            // What the policy does next, as the page said it.
            #expect(shown.stdout.split(separator: "\n").contains {
                $0.hasPrefix("  next step ") && $0.contains(" tier 2 (") && $0.contains(" is paged at 20")
                    && $0.contains(" unless someone acknowledges first (escalate_after ")  // the shipped policy's, or its window's
            }, "\(shown)")

            // ack with a note: exit 0, acknowledged by $USER, note in the timeline.
            let ack = try await Self.cli("ack", "\(id)", "--note", "on it", url: url)
            #expect(ack.status == 0, "\(ack)")
            #expect(ack.stdout.contains("acknowledged"), "\(ack)")
            let acknowledged = try await api.incident(id)
            #expect(acknowledged.status == "acknowledged")
            #expect(acknowledged.acknowledgedBy == Self.operatorName)
            #expect(acknowledged.timeline?.contains { $0.kind == "acknowledged" && $0.detail == "on it" && $0.by == Self.operatorName } == true,
                    "timeline: \(acknowledged.timeline ?? [])")

            // A second ack is refused: exit 1, one line.
            Self.expectOneLineRefusal(try await Self.cli("ack", "\(id)", url: url), containing: "already acknowledged")
            // Taken over: the output says from whom, as the timeline does (black-box round 34).
            let taken = try await Self.cli("ack", "\(id)", "--take-over", "--by", "bob", url: url)
            #expect(taken.status == 0 && taken.stdout.hasPrefix("incident \(id) acknowledged by bob (taken over from \(Self.operatorName)): "),
                    "\(taken)")

            // resolve: exit 0, resolved.
            let resolve = try await Self.cli("resolve", "\(id)", "--note", "rolled back", url: url)
            #expect(resolve.status == 0, "\(resolve)")
            // Its alert still fires: the next notification of it opens the incident again, and the operator is told.
            #expect(resolve.stderr == "note: 1 alert of incident \(id) was still firing: its sender's next notification opens the incident "
                    + "again and pages tier 1; if it is expected to go on firing, silence it (alertbridge silence add)\n", "\(resolve)")
            let resolved = try await api.incident(id)
            #expect(resolved.status == "resolved")
            #expect(resolved.resolvedBy == Self.operatorName)

            // ack of a resolved incident: exit 1, says it is resolved.
            Self.expectOneLineRefusal(try await Self.cli("ack", "\(id)", url: url), containing: "resolved")

            // note: added to the timeline (also after resolution: post-mortem notes).
            let note = try await Self.cli("note", "\(id)", "cause: bad config push to icn1", url: url)
            #expect(note.status == 0, "\(note)")
            let annotated = try await api.incident(id)
            #expect(annotated.timeline?.contains { $0.kind == "note" && $0.detail == "cause: bad config push to icn1" } == true,
                    "timeline: \(annotated.timeline ?? [])")

            // An empty $USER (some containers) counts as unset: "operator" acts, not a usage error.
            let anonymous = try await Self.cli("note", "\(id)", "checked by the night shift", url: url, user: "")
            #expect(anonymous.status == 0, "\(anonymous)")
            #expect(try await api.incident(id).timeline?.contains { $0.kind == "note" && $0.by == "operator" } == true)
            // `notes`, as the API's path says, is the same verb.
            let plural = try await Self.cli("notes", "\(id)", "origin TLS renewed", url: url)
            #expect(plural.status == 0, "\(plural)")
            #expect(try await api.incident(id).timeline?.contains { $0.kind == "note" && $0.detail == "origin TLS renewed" } == true)

            // report: the window's incident, acknowledged and resolved, as a summary and as JSON.
            let report = try await Self.cli("report", "--since", "1h", url: url)
            #expect(report.status == 0, "\(report)")
            #expect(report.stdout.contains("(1h): 1 (0 open, 1 resolved)"), "\(report)")
            #expect(report.stdout.contains("by severity   critical 1"), "\(report)")
            #expect(report.stdout.contains("acknowledged  1 of 1 paged, after p50"), "\(report)")
            #expect(report.stdout.contains("resolved by   alerts 0, operator 1, auto_resolve_after 0\n"), "\(report)")
            // Whole seconds for people: acknowledged within the second, not "38ms".
            #expect(report.stdout.split(separator: "\n").filter { $0.hasPrefix("acknowledged ") || $0.hasPrefix("resolved  ") }
                .allSatisfy { !$0.contains("ms") && $0.contains("p50 ") }, "\(report)")
            // A fixed window: the last hour as two times, and one that ended before the incident.
            let now = Date()
            let hourAgo = ISO8601DateFormatter().string(from: now.addingTimeInterval(-3600))
            let fixed = try await Self.cli("report", "--since", hourAgo, "--until", ISO8601DateFormatter().string(from: now.addingTimeInterval(60)), url: url)
            #expect(fixed.stdout.hasPrefix("incidents from ") && fixed.stdout.contains(": 1 (0 open, 1 resolved)"), "\(fixed)")
            // Since a time: its length in whole seconds (it said `(1h0m0s523ms)`).
            let sinceTime = try await Self.cli("report", "--since", hourAgo, url: url)
            #expect(sinceTime.stdout.hasPrefix("incidents since \(hourAgo) (1h") && !sinceTime.stdout.contains("ms)"), "\(sinceTime)")
            let before = try await Self.cli("report", "--since", "2h", "--until", "1h", url: url)
            #expect(before.stdout.contains(": 0 (0 open, 0 resolved)"), "\(before)")
            let byPoP = try await Self.cli("report", "--group-by", "pop", "--group-by", "region", "--group-by", "pop", url: url)
            #expect(byPoP.stdout.contains("\nby pop        ICN1 1\nby region     apac 1\n"), "\(byPoP)")
            // A misspelt label says no incident has it, not just `(none) 1`.
            let typo = try await Self.cli("report", "--group-by", "pops", url: url)
            #expect(typo.stdout.contains("\nby pops       (none) 1: no incident in the window has a \"pops\" label\n"), "\(typo)")
            let reportJSON = try await Self.cli("report", "--json", "--group-by", "pop", "--group-by", "pop", url: url)
            #expect(reportJSON.status == 0, "\(reportJSON)")
            let summary = try JSONSerialization.jsonObject(with: Data(reportJSON.stdout.utf8)) as? [String: Any]
            #expect(summary?["incidents"] as? Int == 1, "\(reportJSON)")
            #expect(summary?["paged"] as? Int == 1, "\(reportJSON)")
            #expect((summary?["time_to_resolve"] as? [String: Any])?["count"] as? Int == 1, "\(reportJSON)")
            #expect(summary?["truncated"] as? Bool == false, "\(reportJSON)")
            #expect(summary?["by_label"] as? [String: [String: Int]] == ["pop": ["ICN1": 1]], "\(reportJSON)")
            #expect(summary?["resolved_by"] as? [String: Int] == ["alerts": 0, "operator": 1, "auto_resolve": 0, "not_recorded": 0],
                    "\(reportJSON)")

            // Unknown incident: exit 1, not found.
            Self.expectOneLineRefusal(try await Self.cli("show", "999999", url: url), containing: "not found")

            // Usage errors: exit 2.
            let noID = try await Self.cli("ack", url: url)
            #expect(noID.status == 2, "\(noID)")
            #expect(!noID.stderr.isEmpty, "\(noID)")
            // A mistyped option's value read as an id: the option is named, not only the value.
            let mistyped = try await Self.cli("ack", "\(id)", "--nte", "on it", url: url)
            #expect(mistyped.status == 2 && mistyped.stderr.contains(
                "'on it' is not an incident id: ids are whole numbers, such as 16; is '--nte' a mistyped option? "
                + "(ack takes --note, --by, --take-over, --json)"), "\(mistyped)")
            // Ids as a page or a list shows them: said how to type them (black-box round 34).
            let commas = try await Self.cli("ack", "2,3", url: url)
            #expect(commas.status == 2 && commas.stderr.contains("'2,3' is not an incident id: ids are whole numbers, such as 16; "
                                                                  + "give several ids with spaces between them (ack 16 17)"), "\(commas)")
            // A negative id is one, not an option that left the id out (black-box round 34).
            let negative = try await Self.cli("show", "-1", url: url)
            #expect(negative.status == 2 && negative.stderr == "Error: '-1' is not an id: ids are whole numbers from 1, such as 16\n",
                    "\(negative)")
            // A mistyped verb is named as one, with the verbs there are (black-box round 34:
            // "2 unexpected arguments: 'ak', '1'").
            let verbTypo = try await Self.cli("ak", "\(id)", url: url)
            #expect(verbTypo.status == 2 && verbTypo.stderr.hasPrefix("Error: 'ak' is not a command of alertbridge (serve, check, incidents, show, ack,"),
                    "\(verbTypo)")
            let silenceTypo = try await Self.cli("silence", "ad", "pop=ICN1", url: url)
            #expect(silenceTypo.status == 2 && silenceTypo.stderr == "Error: 'ad' is not a command of alertbridge silence "
                    + "(add, list, extend, expire); see alertbridge silence --help\n", "\(silenceTypo)")
            // Every operator verb's help says how it reaches and logs in to the server
            // (black-box round 34: `ack --help` did not).
            for verb in [["ack"], ["resolve"], ["note"], ["escalate"], ["show"], ["incidents"], ["report"], ["heartbeats"],
                         ["silence", "add"], ["silence", "list"], ["silence", "extend"], ["silence", "expire"]] {
                let help = try await Self.cli(verb + ["--help"], url: url)
                #expect(help.status == 0 && ["ALERTBRIDGE_URL", "ALERTBRIDGE_TOKEN", "ALERTBRIDGE_TIMEOUT"].allSatisfy(help.stdout.contains),
                        "\(verb): \(help)")
            }
            // A verb's own usage error found as it runs is said alone, not with the whole binary's usage.
            let noVerb = try await Self.cli("silence", url: url)
            #expect(noVerb.status == 2 && noVerb.stderr == "Error: say what to do: silence add, list, extend or expire (alertbridge silence --help)\n",
                    "\(noVerb)")
            let hashed = try await Self.cli("resolve", "#3", url: url)
            #expect(hashed.status == 2 && hashed.stderr.contains("'#3' is not an incident id: ids are whole numbers, such as 16, without the #"),
                    "\(hashed)")
            let bogus = try await Self.cli("incidents", "--status", "bogus", url: url)
            #expect(bogus.status == 2, "\(bogus)")
            #expect(bogus.stderr.contains("--status"), "\(bogus)")
            for arguments in [["incidents", "--limit", "0"], ["incidents", "--limit", "5000"], ["show", "0"],
                              ["note", "\(id)", ""], ["ack", "\(id)", "--by", ""], ["escalate", "-3"],
                              ["report", "--since", "0s"], ["report", "--since", "400d"], ["report", "--since", "soon"],
                              ["report", "--group-by", ""], ["silence"],
                              ["report", "--since", "1h", "--until", "2h"], ["report", "--until", "tomorrow"],
                              ["report", "--since", "2025-01-01T00:00:00Z"]] {
                let usage = try await run(try Paths.alertbridgeBinary(), arguments,
                                          environment: ProcessInfo.processInfo.environment.merging(["ALERTBRIDGE_URL": url]) { $1 })
                #expect(usage.status == 2, "\(arguments): \(usage)")
            }

            // Nothing the usage errors or refusals did changed the incident.
            #expect(try await api.incidents(status: "all").count == 1)
        }
    }

    @Test("escalate pages the next tier, then refuses at the last; wide characters keep the table aligned")
    func escalateAndWideText() async throws {
        try await LiveServer.with { server in
            let korean = Data(#"{"summary": "서울 PoP 지연", "labels": {"alertname": "EdgeLatencyHigh", "pop": "서울", "service": "cdn-edge"}}"#.utf8)
            let created = try API.decoder.decode(API.IngestResult.self, from: try await server.api.ingest("/api/v1/alerts", korean))
            let id = try #require(created.incidentId)
            _ = try await server.api.ingest("/api/v1/alerts", Self.alert)
            let table = try await Self.cli("incidents", url: server.baseURL)
            let lines = table.stdout.split(separator: "\n").map(String.init)
            let titleColumns = lines.map { line in
                displayColumns(String(line[..<(line.range(of: "p95 latency") ?? line.range(of: "서울 PoP") ?? line.range(of: "TITLE")!).lowerBound]))
            }
            #expect(Set(titleColumns).count == 1, "TITLE starts in one terminal column on every line: \(table)")

            let escalated = try await Self.cli("escalate", "\(id)", url: server.baseURL)
            // Whom it paged, in the answer (the shipped pop-outage policy's tier 2).
            #expect(escalated.status == 0 && escalated.stdout.contains(" to tier 2 (rnd): "), "\(escalated)")
            #expect(try await server.api.incident(id).tier == 2)
            Self.expectOneLineRefusal(try await Self.cli("escalate", "\(id)", url: server.baseURL),
                                      containing: "incident \(id) is already at its last tier")
        }
    }

    @Test("incidents says on stderr when the list may be cut at --limit; --json does not")
    func incidentsSaysWhenTheListMayBeCut() async throws {
        try await LiveServer.with { server in
            let url = server.baseURL
            for pop in ["ICN1", "NRT1", "SIN1"] {
                let alert = Data(#"{"summary": "p95 latency high at \#(pop)", "labels": {"alertname": "EdgeLatencyHigh", "pop": "\#(pop)", "service": "cdn-edge"}}"#.utf8)
                _ = try await server.api.ingest("/api/v1/alerts", alert)
            }

            // Two of three: the table holds two rows, and stderr says there may be more.
            let cut = try await Self.cli("incidents", "--limit", "2", url: url)
            #expect(cut.status == 0, "\(cut)")
            #expect(cut.stdout.split(separator: "\n").count == 3, "a header and two rows: \(cut)")
            // ICN1's, the oldest, is triggered and not shown: said, with how to list it.
            #expect(cut.stderr == "(the newest 2 shown; there may be more: --limit up to 1000, or --status to narrow)\n"
                    + "(1 triggered incident older than these is not shown: alertbridge incidents --status triggered)\n", "\(cut)")
            // The command it offers keeps the filters that counted them (black-box round 38).
            let filtered = try await Self.cli("incidents", "--limit", "1", "--label", "service=cdn-edge", url: url)
            #expect(filtered.stderr.hasSuffix("(2 triggered incidents older than these are not shown: alertbridge incidents --status "
                                              + "triggered --label service=cdn-edge)\n"), "\(filtered)")
            // A status that cannot be narrowed further is not offered as a way out.
            let triggered = try await Self.cli("incidents", "--status", "triggered", "--limit", "3", url: url)
            #expect(triggered.stderr == "(the newest 3 shown; there may be more: --limit up to 1000)\n", "\(triggered)")

            // Fewer than the limit: everything is shown, and nothing is said.
            let whole = try await Self.cli("incidents", "--limit", "4", url: url)
            #expect(whole.stdout.split(separator: "\n").count == 4, "\(whole)")
            #expect(whole.stderr.isEmpty, "\(whole)")

            // Scripts read the JSON as before: no remark, on either stream.
            let json = try await Self.cli("incidents", "--json", "--limit", "2", url: url)
            #expect(json.stderr.isEmpty, "\(json)")
            let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect((parsed?["incidents"] as? [[String: Any]])?.count == 2, "\(json)")
        }
    }

    /// Terminal columns of a prefix: Hangul takes two.
    func displayColumns(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + ((0xAC00...0xD7A3).contains($1.value) ? 2 : 1) }
    }

    /// The operator who silences FRA1 during its storm is told which FRA1 incidents were
    /// already paging and go on: they were paged three more times with no word of it.
    @Test("silence add names the open incidents it matches that go on escalating")
    func silenceAddNamesIncidentsAlreadyPaging() async throws {
        try await LiveServer.with { server in
            let url = server.baseURL
            let paging = try API.decoder.decode(API.IngestResult.self, from: try await server.api.ingest("/api/v1/alerts", Self.alert))
            let id = try #require(paging.incidentId)
            let icn1 = try await Self.cli("silence", "add", "pop = ICN1", "--comment", "fibre works", url: url)
            #expect(icn1.status == 0 && icn1.stdout.hasPrefix("silence 1 active from "), "\(icn1)")
            #expect(icn1.stderr == "note: incident \(id) matches it and was paging before it: a silence holds what arrives "
                    + "from now on, not an escalation already running; acknowledge or resolve it (alertbridge ack \(id))\n", "\(icn1)")
            let nrt1 = try await Self.cli("silence", "add", "pop = NRT1", "--comment", "fibre works", url: url)
            #expect(nrt1.status == 0 && nrt1.stderr.isEmpty, "\(nrt1)")
            // Once someone has it, nothing is paging.
            _ = try await Self.cli("ack", "\(id)", url: url)
            let again = try await Self.cli("silence", "add", "pop = ICN1", "service = cdn-edge", "--comment", "more works", url: url)
            #expect(again.status == 0 && again.stderr.isEmpty, "\(again)")
        }
    }

    @Test("silence add, list and expire a maintenance window; what it held pages when it ends")
    func silenceVerbs() async throws {
        try await LiveServer.with { server in
            let url = server.baseURL
            let added = try await Self.cli("silence", "add", "pop = ICN1", #"alertname =~ "Edge.*""#, "--duration", "2h",
                                           "--comment", "ICN1 fibre maintenance", url: url)
            #expect(added.status == 0, "\(added)")
            #expect(added.stdout.hasPrefix("silence 1 active from "), "\(added)")
            #expect(added.stdout.contains(#"pop="ICN1" alertname=~"Edge.*""#), "\(added)")

            // The alert is recorded, and pages nobody while the silence holds.
            let held = try API.decoder.decode(API.IngestResult.self, from: try await server.api.ingest("/api/v1/alerts", Self.alert))
            #expect(held.outcome == "suppressed")
            let before = try await Self.cli("show", "\(try #require(held.incidentId))", url: url)
            #expect(before.stdout.contains("next timer"), "due when the silence ends: \(before)")
            #expect(before.stdout.split(separator: "\n").contains {
                $0.hasPrefix("  paged ") && $0.hasSuffix(" nobody yet (the timeline says why)")
            }, "\(before)")

            // The list says nobody is being paged for it.
            let listed = try await Self.cli("incidents", url: url)
            let columns = listed.stdout.split(separator: "\n").dropFirst().first?.split(separator: " ").map(String.init) ?? []
            #expect(columns.count > 4 && columns[0] == "1" && columns[1] == "triggered" && columns[3...4] == ["none", "yet"], "\(listed)")
            let table = try await Self.cli("silence", "list", url: url)
            #expect(table.status == 0, "\(table)")
            let lines = table.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 2 && lines[0].hasPrefix("ID") && lines[1].hasPrefix("1 "), "\(table)")
            #expect(lines.last?.contains("\(Self.operatorName)") == true && lines.last?.contains("ICN1 fibre maintenance") == true,
                    "\(table)")
            #expect(table.stderr.isEmpty, "\(table)")
            // A full page may be cut: stderr says so, as for incidents.
            let cut = try await Self.cli("silence", "list", "--limit", "1", url: url)
            #expect(cut.stdout == table.stdout, "\(cut)")
            #expect(cut.stderr == "(the newest 1 shown; there may be more: --limit up to 1000, or --status to narrow)\n", "\(cut)")
            let json = try await Self.cli("silence", "list", "--json", url: url)
            let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect((parsed?["silences"] as? [[String: Any]])?.first?["status"] as? String == "active", "\(json)")

            // The maintenance runs over: extended, it ends later and says who extended it.
            let extended = try await Self.cli("silence", "extend", "1", "--duration", "3h", "--by", "day shift", url: url)
            #expect(extended.status == 0, "\(extended)")
            #expect(extended.stdout.hasPrefix("silence 1 extended by day shift, active until "), "\(extended)")
            #expect(extended.stdout.hasSuffix(#": pop="ICN1" alertname=~"Edge.*""# + "\n"), "\(extended)")
            let sooner = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
            Self.expectOneLineRefusal(try await Self.cli("silence", "extend", "1", "--end", sooner, url: url),
                                      containing: "alertbridge: --end \(sooner): must end after silence 1 does")
            // The option the operator typed, and that a duration counts from now.
            Self.expectOneLineRefusal(try await Self.cli("silence", "extend", "1", "--duration", "1m", url: url),
                                      containing: "alertbridge: --duration 1m (counted from now, or from the start of a pending silence): must end after silence 1 does")

            let expired = try await Self.cli("silence", "expire", "1", url: url)
            #expect(expired.status == 0, "\(expired)")
            #expect(expired.stdout.hasPrefix("silence 1 expired by \(Self.operatorName)"), "\(expired)")
            #expect(try await Self.cli("silence", "list", url: url).stdout == "no current silences\n")
            let all = try await Self.cli("silence", "list", "--status", "all", url: url)
            // Its creator expired it: not "alice (expired by alice)" (black-box round 34).
            #expect(all.stdout.contains("\(Self.operatorName) (extended by day shift, expired)"), "\(all)")
            Self.expectOneLineRefusal(try await Self.cli("silence", "expire", "1", url: url), containing: "already ended")
            Self.expectOneLineRefusal(try await Self.cli("silence", "expire", "42", url: url), containing: "silence 42 not found")
            // Refused before anything is sent, as a typo is (exit 2), and saying what it would hold.
            for matcher in ["pop =~ .*", "pop != ICN1"] {
                let everything = try await Self.cli("silence", "add", matcher, "--comment", "all", url: url)
                #expect(everything.status == 2 && everything.stderr.contains("every matcher holds for an alert that has none of these labels"),
                        "\(everything)")
            }

            // The server's engine pages what the silence held as soon as it ended.
            let id = try #require(held.incidentId)
            var shown = try await Self.cli("show", "\(id)", url: url)
            for _ in 0..<50 where !shown.stdout.contains("tier 1 (technical-support)") {
                try await Task.sleep(for: .milliseconds(100))  // the engine runs on its own task
                shown = try await Self.cli("show", "\(id)", url: url)
            }
            #expect(shown.stdout.contains("no silence holds this incident any more"), "\(shown)")
            #expect(shown.stdout.contains("tier 1 (technical-support)"), "\(shown)")

            for arguments in [["silence", "extend", "1"], ["silence", "extend", "1", "--duration", "1h", "--end", "2026-12-01T00:00:00Z"],
                              ["silence", "extend", "0", "--duration", "1h"], ["silence", "extend", "1", "--duration", "later"],
                              ["silence", "extend", "1", "--duration", "400d"],
                              ["silence", "add", "pop = ICN1", "--comment", "x", "--duration", "400d"],
                              ["silence", "add", "pop = ICN1"], ["silence", "add", "--comment", "x"],
                              ["silence", "add", "pop = ICN1", "--comment", "x", "--duration", "1h", "--end", "2026-12-01T00:00:00Z"],
                              ["silence", "add", "pop = ICN1", "--comment", "x", "--duration", "soon"],
                              ["silence", "add", "pop == ICN1", "--comment", "x"], ["silence", "add", "1pop = ICN1", "--comment", "x"],
                              ["silence", "add", "pop = ICN1", #"alertname =~ "Edge(""#, "--comment", "x"],
                              ["silence", "list", "--status", "gone"], ["silence", "expire", "0"], ["silence", "expire"]] {
                let usage = try await Self.cli(arguments, url: url)
                #expect(usage.status == 2, "\(arguments): \(usage)")
            }
            // Each verb checks what the others check, before anything is sent, and names the option.
            for (arguments, says) in [(["silence", "add", "pop = ICN1", "--comment", "x", "--by", ""], "--by must name who acts"),
                                      (["silence", "extend", "1", "--duration", "1h", "--by", " "], "--by must name who acts"),
                                      (["silence", "expire", "1", "--by", ""], "--by must name who acts"),
                                      (["note", "1", "x", "--by", "al\nice"], "--by must be one line of text"),
                                      (["silence", "add", "pop = ICN1", "--comment", "x", "--duration", "10ms"], "--duration must be"),
                                      (["silence", "extend", "1", "--duration", "10ms"], "--duration must be a duration of at least 1s, such as 2h or 1h30m (did you mean 10m?)"),
                                      (["silence", "extend", "1", "--duration", "1h", "--end", "2031-01-01T00:00:00Z"], "give --duration or --end, not both"),
                                      (["silence", "extend", "1"], "give --duration or --end"),
                                      (["silence", "add", "pop = ICN1", "--comment", "x", "--start", "2030-01-01T00:00:00Z",
                                        "--end", "2029-01-01T00:00:00Z"], "--end 2029-01-01T00:00:00Z is not after --start 2030-01-01T00:00:00Z"),
                                      (["silence", "extend", "1", "--end", "2020-01-01T00:00:00Z"],
                                       "--end 2020-01-01T00:00:00Z is in the past: a silence ends later than now"),
                                      (["silence", "expire", "0"], "the silence id must be a positive whole number")] {
                let usage = try await Self.cli(arguments, url: url)
                #expect(usage.status == 2 && usage.stderr.contains(says), "\(arguments): \(usage)")
            }
            // A bad matcher is named, with what is wrong with it, before anything is sent.
            let typo = try await Self.cli("silence", "add", "pop = ICN1", "pop == NRT2", "--comment", "x", url: url)
            #expect(typo.stderr.contains("matcher 2 ('pop == NRT2') is not valid: expected one of =, !=, =~, !~ after pop"),
                    "\(typo)")
            // Unquoted, the shell makes three arguments of one matcher: say to quote it.
            let unquoted = try await Self.cli("silence", "add", "pop", "=", "ICN8", "--comment", "x", url: url)
            #expect(unquoted.status == 2 && unquoted.stderr.contains("matcher 1 ('pop') is not valid: ")
                    && unquoted.stderr.contains("(quote each matcher as one argument, such as 'pop = ICN1')"), "\(unquoted)")
            let regex = try await Self.cli("silence", "add", #"alertname =~ "Edge(""#, "--comment", "x", url: url)
            #expect(regex.stderr.contains(#"matcher 1 ('alertname =~ "Edge("') is not valid: invalid regex "Edge(""#), "\(regex)")
            #expect(try await Self.cli("silence", "list", "--status", "all", url: url).stdout.split(separator: "\n").count == 2,
                    "only the one silence added above")
        }
    }

    @Test("silence extend of a pending silence says when it starts; a past start with a duration is refused")
    func pendingSilenceExtendAndPastStart() async throws {
        try await LiveServer.with { server in
            let url = server.baseURL
            let added = try await Self.cli("silence", "add", "pop = NRT2", "--start", "2099-01-01T00:00:00Z", "--duration", "2h",
                                           "--comment", "NRT2 planned work", url: url)
            #expect(added.stdout == "silence 1 pending from 2099-01-01T00:00:00Z until 2099-01-01T02:00:00Z: pop=\"NRT2\"\n", "\(added)")
            let extended = try await Self.cli("silence", "extend", "1", "--duration", "3h", "--by", "bob", url: url)
            #expect(extended.status == 0, "\(extended)")
            #expect(extended.stdout
                    == "silence 1 extended by bob, pending from 2099-01-01T00:00:00Z until 2099-01-01T03:00:00Z: pop=\"NRT2\"\n",
                    "\(extended)")

            // A pasted date: the window is over, so nothing is silenced from now instead. The
            // CLI says it in the operator's terms (exit 2), with or without --duration; the
            // API's own refusal is in SilenceAPITests.
            for arguments in [["--start", "2020-11-29T06:00:00Z", "--duration", "2h"], ["--start", "2020-11-29T06:00:00Z"]] {
                let pasted = try await Self.cli(["silence", "add", "pop = ICN1", "--comment", "ICN1 fibre maintenance"] + arguments, url: url)
                #expect(pasted.status == 2, "\(pasted)")
                #expect(pasted.stderr.contains("--start 2020-11-29T06:00:00Z is in the past: leave it out to start now, or give --end"), "\(pasted)")
            }
            let over = try await Self.cli("silence", "add", "pop = ICN1", "--comment", "x", "--start", "2020-11-29T06:00:00Z",
                                          "--end", "2020-11-29T07:00:00Z", url: url)
            #expect(over.status == 2 && over.stderr.contains("--end 2020-11-29T07:00:00Z is in the past"), "\(over)")
            #expect(try await Self.cli("silence", "list", "--status", "all", url: url).stdout.split(separator: "\n").count == 2,
                    "only the pending silence")
        }
    }

    @Test("heartbeats lists each configured monitor: waiting, then up after its ping")
    func heartbeatList() async throws {
        let heartbeats = [Heartbeat(name: "prometheus-apac", timeout: .seconds(3600)),
                          Heartbeat(name: "blackbox-eu", timeout: .seconds(300), severity: .warning)]
        try await LiveServer.with(heartbeats: heartbeats) { server in
            let url = server.baseURL
            let waiting = try await Self.cli("heartbeats", url: url)
            #expect(waiting.status == 0, "\(waiting)")
            let rows = waiting.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            #expect(rows.map { $0.first.map(String.init) } == ["NAME", "blackbox-eu", "prometheus-apac"], "\(waiting)")
            #expect(rows.dropFirst().allSatisfy { $0.count == 5 && $0[1] == "waiting" && $0[4] == "never" }, "\(waiting)")

            let ping = try await HTTP.send("POST", url + "/api/v1/heartbeats/prometheus-apac")
            try ping.expect(202, "ping")
            let up = try await Self.cli("heartbeats", url: url)
            let line = try #require(up.stdout.split(separator: "\n").first { $0.hasPrefix("prometheus-apac") })
            #expect(line.contains(" up ") && line.contains(" 1h ") && !line.contains("never"), "\(up)")
            let json = try await Self.cli("heartbeats", "--json", url: url)
            let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect((parsed?["heartbeats"] as? [[String: Any]])?.map { $0["status"] as? String } == ["waiting", "up"], "\(json)")
        }
        try await LiveServer.with { server in
            let none = try await Self.cli("heartbeats", url: server.baseURL)
            #expect(none.stdout == "no heartbeats configured (heartbeats: in alertbridge.yaml)\n", "\(none)")
        }
    }

    @Test("without a token the server takes, operator verbs say to set ALERTBRIDGE_TOKEN to an operate token")
    func tokenRefusalsSayWhatToSet() async throws {
        let tokens = [TokenConfig(name: "noc", scopes: [.operate], secret: "noc-secret-1"),
                      TokenConfig(name: "monitoring", scopes: [.ingest], secret: "ingest-secret-2")]
        try await LiveServer.with(tokens: tokens) { server in
            let url = server.baseURL
            for arguments in [["incidents"], ["ack", "1"], ["silence", "list"], ["heartbeats"], ["report"]] {
                Self.expectOneLineRefusal(try await Self.cli(arguments, url: url), containing:
                    "alertbridge: this server needs a token: set ALERTBRIDGE_TOKEN to a token with the operate scope")
            }
            let unknown = try await Self.cli("incidents", url: url, token: "typo-secret-3")
            Self.expectOneLineRefusal(unknown, containing: """
                alertbridge: the server does not accept ALERTBRIDGE_TOKEN (the bearer token is not valid): \
                set it to a token with the operate scope
                """)
            #expect(!unknown.stderr.contains("typo-secret-3"), "the secret is not echoed: \(unknown)")
            Self.expectOneLineRefusal(try await Self.cli("ack", "1", url: url, token: "ingest-secret-2"), containing: """
                alertbridge: ALERTBRIDGE_TOKEN may not do this (token "monitoring" does not have the operate scope): \
                set it to a token with the operate scope
                """)
            let allowed = try await Self.cli("incidents", url: url, token: "noc-secret-1")
            #expect(allowed.status == 0, "\(allowed)")
            #expect(allowed.stdout == "no open incidents\n", "\(allowed)")
            // A token file saved with Windows line endings works; a line break inside the
            // token is refused before anything is sent (it made a header line of its own).
            #expect(try await Self.cli("incidents", url: url, token: "noc-secret-1\r\n").stdout == "no open incidents\n")
            let broken = try await Self.cli("incidents", url: url, token: "noc-secret-1\nX-Injected: 1")
            #expect(broken.status == 2 && broken.stderr.contains("ALERTBRIDGE_TOKEN holds a line break"), "\(broken)")
            #expect(!broken.stderr.contains("noc-secret-1"), "the secret is not echoed: \(broken)")
        }
    }

    /// ALERTBRIDGE_URL pointing at another web server (a typo'd port): one line that says
    /// so, not a decoding error's dump.
    @Test("a server that is not alertbridge is named as such in one line")
    func anotherServerIsNamed() async throws {
        let root = try TemporaryDirectory("alertbridge-e2e-other-server")
        defer { root.remove() }
        try FileManager.default.createDirectory(atPath: root.path("api/v1"), withIntermediateDirectories: true)
        try "<html>Grafana</html>".write(toFile: root.path("api/v1/incidents"), atomically: false, encoding: .utf8)
        try await Self.withPython(["-m", "http.server", "--bind", "127.0.0.1", "--directory", root.path("")]) { url in
            let result = try await Self.cli("incidents", url: url)
            Self.expectOneLineRefusal(result, containing: "the server at \(url) does not answer as alertbridge does (HTTP 200, ")
            #expect(result.stderr.hasSuffix("is ALERTBRIDGE_URL right?\n"), "\(result)")
        }
    }

    /// Runs `python3 ARGUMENTS 0`, a small web server on 127.0.0.1 that binds a port the
    /// kernel picks and prints `port N` once it listens, while `body` runs with its URL.
    ///
    /// The server picks its own port: a free port picked here and handed over could be
    /// taken by another test's server before Python binds it (CI, 2026-12-01: Python
    /// exited, and the test waited 30 s for an HTTP answer from an SMTP server's port).
    static func withPython(_ arguments: [String], _ body: (_ url: String) async throws -> Void) async throws {
        let directory = try TemporaryDirectory("alertbridge-e2e-python")
        defer { directory.remove() }
        let output = directory.path("output")
        let server = try ChildProcess.start("/usr/bin/env", ["python3", "-u"] + arguments + ["0"], output: output, errors: output)
        ParentWatch.kill(server.pid)
        defer { server.stop() }
        let port = try await eventually("the other server to listen") { observed in
            let printed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            if !printed.isEmpty { observed = printed }
            if let port = printed.firstMatch(of: /port (\d+)/).flatMap({ Int($0.1) }) { return port }
            guard server.isRunning else { throw StopPolling("the other server ended: \(printed)") }
            return nil
        }
        try await body("http://127.0.0.1:\(port)")
    }

    /// A web server that answers every request with `status`, `contentType` and `body` (its
    /// `{id}` the number after `/incidents/` in the path), and the requests it took
    /// (`POST /api/v1/incidents/8/ack`), read after `body` ran.
    static func withFakeServer(status: Int, contentType: String, body answer: String,
                               _ body: (_ url: String) async throws -> Void) async throws -> [String] {
        let directory = try TemporaryDirectory("alertbridge-e2e-fake-server")
        defer { directory.remove() }
        let log = directory.path("requests")
        let script = #"""
            import http.server, re, sys
            status, ctype, answer, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
            class Handler(http.server.BaseHTTPRequestHandler):
                def answer(self):
                    self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    with open(log, "a") as f: f.write(self.command + " " + self.path + "\n")
                    number = re.search(r"/incidents/(\d+)", self.path)
                    data = answer.replace("{id}", number.group(1) if number else "0").encode()
                    self.send_response(status)
                    if 300 <= status < 400 and self.path.startswith("/api/"):
                        self.send_header("Location", "https://alertbridge.example.com" + self.path)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                do_GET = do_POST = do_DELETE = answer
                def log_message(self, *arguments): pass
            server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[5])), Handler)
            print("port", server.server_address[1])
            server.serve_forever()
            """#
        try await withPython(["-c", script, "\(status)", contentType, answer, log], body)
        let requests = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return requests.split(separator: "\n").map(String.init)
    }

    @Test("every operator verb exits 1 with \"cannot reach\" when no server listens")
    func unreachableServer() async throws {
        let url = "http://127.0.0.1:\(try freeLocalPort())"
        for arguments in [["incidents"], ["incidents", "--json"], ["show", "1"], ["ack", "1"], ["resolve", "1"],
                          ["note", "1", "text"], ["heartbeats"], ["silence", "list"], ["silence", "expire", "1"],
                          ["silence", "add", "pop = ICN1", "--comment", "maintenance"]] {
            var environment = ProcessInfo.processInfo.environment
            environment["ALERTBRIDGE_URL"] = url
            let result = try await run(try Paths.alertbridgeBinary(), arguments, environment: environment)
            Self.expectOneLineRefusal(result, containing: "cannot reach alertbridge at \(url): connection refused")
        }
        // A password in ALERTBRIDGE_URL is not printed (black-box round 28).
        let port = url.split(separator: ":").last!
        let secret = try await Self.cli(["incidents"], url: "http://noc:url-secret-9@127.0.0.1:\(port)")
        Self.expectOneLineRefusal(secret, containing: "cannot reach alertbridge at http://noc:***@127.0.0.1:\(port): connection refused")
        #expect(!secret.stderr.contains("url-secret-9"), "\(secret)")
    }

    /// A server that takes the connection and never answers (hung, or a firewall that
    /// accepts for it): the verb gives up after ALERTBRIDGE_TIMEOUT and says so in one line.
    @Test("a server that never answers is given up on after ALERTBRIDGE_TIMEOUT, in one line")
    func hungServer() async throws {
        let socket = try ListeningSocket()  // never accepts: the kernel completes the handshake for it
        defer { socket.close() }
        let url = "http://127.0.0.1:\(socket.port)"
        let clock = ContinuousClock()
        let started = clock.now
        let result = try await Self.cli(["ack", "1", "2"], url: url, environment: ["ALERTBRIDGE_TIMEOUT": "2s"])
        let took = clock.now - started
        Self.expectOneLineRefusal(result, containing: "alertbridge: no answer from alertbridge at \(url) within 2s; "
                                  + "the action may have been taken: check with alertbridge show")
        // Well under the 60 s it took: a loaded machine starts the CLI slowly.
        #expect(took < .seconds(30), "gave up at its timeout: \(took)")
        for value in ["soon", "0s", "500ms", "2h"] {
            let usage = try await Self.cli(["incidents"], url: url, environment: ["ALERTBRIDGE_TIMEOUT": value])
            #expect(usage.status == 2 && usage.stderr.contains("ALERTBRIDGE_TIMEOUT must be"), "\(value): \(usage)")
        }
        // A URL that can never reach alertbridge is a usage error too, said at once.
        for bad in ["127.0.0.1:\(socket.port)", "ftp://127.0.0.1:\(socket.port)"] {
            let usage = try await Self.cli(["incidents"], url: bad)
            #expect(usage.status == 2 && usage.stderr.contains("ALERTBRIDGE_URL must be an http:// or https:// URL"), "\(bad): \(usage)")
        }
    }

    /// A proxy that redirects (http to https): not followed, and the message says where.
    @Test("a redirect is not followed and says where it points")
    func redirect() async throws {
        let requests = try await Self.withFakeServer(status: 301, contentType: "text/html", body: "<html>Moved</html>") {
            Self.expectOneLineRefusal(try await Self.cli("ack", "8", "10", url: $0), containing:
                "the server at \($0) redirects (HTTP 301) to https://alertbridge.example.com/api/v1/incidents/8/ack: "
                + "set ALERTBRIDGE_URL to alertbridge's own address")
        }
        #expect(requests == ["POST /api/v1/incidents/8/ack"], "stopped at the first id")
    }

    /// The connection closes after the request went out and before an answer (alertbridge
    /// committed and restarted, a proxy reset it): the action may have been taken, so the
    /// operator is told to look, not that the connection was refused (an `escalate` run
    /// again would page the tier after next).
    @Test("a connection that closes before an answer says the action may have been taken")
    func droppedConnection() async throws {
        let script = #"""
            import http.server, sys
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    self.close_connection = True  # no answer at all
                do_GET = do_POST
            server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
            print("port", server.server_address[1])
            server.serve_forever()
            """#
        try await Self.withPython(["-c", script]) { url in
            Self.expectOneLineRefusal(try await Self.cli("escalate", "8", url: url), containing:
                "the connection to alertbridge at \(url) closed before an answer (")
            let result = try await Self.cli("escalate", "8", url: url)
            #expect(result.stderr.hasSuffix("the action may have been taken: check with alertbridge show\n") && !result.stderr.contains("refused"),
                    "\(result)")
            // A read took no action: it is simply tried again.
            let list = try await Self.cli("incidents", url: url)
            #expect(list.stderr.contains("closed before an answer (") && list.stderr.hasSuffix("); try again\n"), "\(list)")
        }
    }

    /// ALERTBRIDGE_URL with a path of its own asks alertbridge for a path it does not have:
    /// the 404 says which address to check.
    @Test("a path the server does not have points at ALERTBRIDGE_URL")
    func noRouteNamesTheURL() async throws {
        _ = try await Self.withFakeServer(status: 404, contentType: "application/json",
                                          body: #"{"error": "no route for GET /ab/api/v1/incidents", "field": null}"#) {
            Self.expectOneLineRefusal(try await Self.cli("incidents", url: $0 + "/ab"), containing:
                "no route for GET /ab/api/v1/incidents: is ALERTBRIDGE_URL (\($0)/ab) alertbridge's own address?")
        }
        // About the address, not one incident: `ack 8 10` stops at the first.
        let requests = try await Self.withFakeServer(status: 404, contentType: "application/json",
                                                     body: #"{"error": "no route for POST /ab/api/v1/incidents/8/ack", "field": null}"#) {
            Self.expectOneLineRefusal(try await Self.cli("ack", "8", "10", url: $0 + "/ab"), containing: "is ALERTBRIDGE_URL")
        }
        #expect(requests == ["POST /ab/api/v1/incidents/8/ack"])
    }

    /// ALERTBRIDGE_URL pointing at another web server, or a proxy whose upstream is down:
    /// its error page is not alertbridge's refusal of one incident, so `ack 8 10 12` stops at 8.
    @Test("an error page that is not alertbridge's says so in one line and stops at the first id")
    func errorPageOfAnotherServer() async throws {
        let requests = try await Self.withFakeServer(status: 404, contentType: "text/html", body: "<html>Not Found</html>") {
            Self.expectOneLineRefusal(try await Self.cli("ack", "8", "10", "12", url: $0), containing:
                "the server at \($0) does not answer as alertbridge does (HTTP 404, text/html): is ALERTBRIDGE_URL right?")
        }
        #expect(requests == ["POST /api/v1/incidents/8/ack"])
        for status in [502, 503, 504] {
            _ = try await Self.withFakeServer(status: status, contentType: "text/html", body: "<html><h1>Bad Gateway</h1>\n</html>") {
                Self.expectOneLineRefusal(try await Self.cli("incidents", url: $0),
                                          containing: "the server at \($0) (or a proxy in front of it) answered HTTP \(status)")
            }
        }
    }

    /// `ack` prints the id and title of what it acknowledged: an answer lacking another field
    /// (a newer or older server) is no reason to stop before the next id.
    @Test("ack reads only the id and title of the answer; an answer without them is one line")
    func ackReadsOnlyWhatItPrints() async throws {
        let title = #"Disk /var is 97% full.\nRunbook: https://wiki.example.com/disk\tcheck"#
        let requests = try await Self.withFakeServer(status: 200, contentType: "application/json",
                                                     body: #"{"id": {id}, "title": "\#(title)", "status": "acknowledged"}"#) { url in
            let acked = try await Self.cli("ack", "1", "2", url: url)
            #expect(acked.status == 0 && acked.stderr.isEmpty, "\(acked)")
            #expect(acked.stdout == """
                incident 1 acknowledged by \(Self.operatorName): \(title)
                incident 2 acknowledged by \(Self.operatorName): \(title)

                """, "a control character is shown, not obeyed: \(acked)")
        }
        #expect(requests == ["POST /api/v1/incidents/1/ack", "POST /api/v1/incidents/2/ack"])
        let stopped = try await Self.withFakeServer(status: 200, contentType: "application/json", body: #"{"ok": true}"#) { url in
            let result = try await Self.cli("resolve", "1", "2", url: url)
            Self.expectOneLineRefusal(result, containing: "the server at \(url) answers with JSON alertbridge does not send (no \"id\")")
            #expect(!result.stderr.contains("DecodingError"), "\(result)")
        }
        #expect(stopped == ["GET /api/v1/incidents/1", "POST /api/v1/incidents/1/resolve"])
    }

    /// An Alertmanager alert without `summary` is titled by its `description`, often several
    /// lines: every table row and message stays one line, with the control characters shown.
    @Test("a multi-line title or note keeps each table row and message on one line; --json keeps it")
    func multiLineText() async throws {
        try await LiveServer.with { server in
            let url = server.baseURL
            let alertmanager = Data(#"""
                {"version": "4", "status": "firing", "alerts": [{"status": "firing",
                 "labels": {"alertname": "DiskFull", "pop": "ICN1", "service": "storage", "severity": "warning", "instance": "icn1-store-01"},
                 "annotations": {"description": "Disk /var is 97% full.\nRunbook: https://wiki.example.com/disk\tcheck"}}]}
                """#.utf8)
            try await server.api.ingest("/api/v1/alertmanager", alertmanager)
            let id = try #require(try await server.api.incidents().first?.id)
            let shown = #"Disk /var is 97% full.\nRunbook: https://wiki.example.com/disk\tcheck"#

            let table = try await Self.cli("incidents", url: url)
            let lines = table.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            #expect(lines.count == 2 && lines.last?.hasSuffix("  " + shown) == true, "\(table)")
            let note = try await Self.cli("note", "\(id)", "checked\nfreed 20%", url: url)
            #expect(note.stdout == "incident \(id) annotated by \(Self.operatorName): \(shown)\n", "\(note)")
            let acked = try await Self.cli("ack", "\(id)", url: url)
            #expect(acked.stdout == "incident \(id) acknowledged by \(Self.operatorName): \(shown)\n", "\(acked)")

            let show = try await Self.cli("show", "\(id)", url: url)
            let rows = show.stdout.split(separator: "\n").map(String.init)
            #expect(rows.first == "Incident \(id): \(shown)", "\(show)")
            #expect(rows.contains { $0.hasPrefix("  ") && $0.contains("  icn1-store-01  firing  ") && $0.hasSuffix("  " + shown) },
                    "the alert's host and summary: \(show)")
            #expect(rows.contains { $0.hasPrefix("  ") && $0.hasSuffix(#"  checked\nfreed 20%"#) }, "the note: \(show)")
            #expect(rows.allSatisfy { $0.hasPrefix("  ") || $0.hasPrefix("Incident ") || ["Alerts", "Timeline"].contains($0) },
                    "no row wraps onto column 0: \(show)")

            let json = try await Self.cli("show", "\(id)", "--json", url: url)
            let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect(parsed?["title"] as? String == "Disk /var is 97% full.\nRunbook: https://wiki.example.com/disk\tcheck", "\(json)")
        }
    }

    /// One PoP's storm is hundreds of alerts, each also a timeline entry: `show` prints the
    /// firing ones first, at most 20, and the first and last few alert entries, saying how
    /// many it left out; `--all` prints every one.
    @Test("show of a storm incident leaves most alerts out and says how many; --all shows them")
    func showOfAStormIncident() async throws {
        try await LiveServer.with { server in
            let url = server.baseURL
            let alerts = (0..<30).map { n in
                #"{"source": "mon", "status": "\#(n < 25 ? "resolved" : "firing")", "severity": "\#(n < 25 ? "critical" : "warning")", "#
                    + #""summary": "p95 latency high on edge\#(n)", "#
                    + #""labels": {"alertname": "EdgeLatencyHigh", "pop": "ICN1", "service": "cdn-edge", "instance": "edge\#(n)"}}"#
            }
            // The firing ones last, so that only putting them first shows them.
            try await server.api.ingest("/api/v1/alerts", Data(("[" + alerts.suffix(5).joined(separator: ",") + "]").utf8))
            try await server.api.ingest("/api/v1/alerts", Data(("[" + alerts.prefix(25).map { $0.replacingOccurrences(of: "resolved", with: "firing") }
                .joined(separator: ",") + "]").utf8))
            try await server.api.ingest("/api/v1/alerts", Data(("[" + alerts.prefix(25).joined(separator: ",") + "]").utf8))
            let id = try #require(try await server.api.incidents().first?.id)

            let show = try await Self.cli("show", "\(id)", url: url)
            let rows = show.stdout.split(separator: "\n").map(String.init)
            let alertRows = rows.filter { $0.hasPrefix("  ") && ($0.contains("  firing  ") || $0.contains("  resolved  ")) }
            #expect(alertRows.count == 20, "\(show)")
            #expect(alertRows.prefix(5).allSatisfy { $0.contains("  firing  ") }, "firing first: \(show)")
            #expect(rows.contains("  … 10 more (show --all)"), "\(show)")
            let perAlert = rows.filter { $0.contains("  alert  ") && ($0.contains(" firing: ") || $0.contains(" recovered")) }
            // Runs broken by the incident's own entries are shortened each: what shows stays in time order.
            #expect(perAlert.count == 15 && rows.contains { $0.hasSuffix("  39 more alerts firing or recovering (show --all)") }, "\(show)")
            #expect(rows.contains { $0.contains("  paged  ") }, "what matters stays: \(show)")
            #expect(rows.contains { $0.hasSuffix("severity raised from warning to critical") }, "the incident's own entries stay: \(show)")

            let all = try await Self.cli("show", "\(id)", "--all", url: url)
            let allRows = all.stdout.split(separator: "\n").map(String.init)
            #expect(allRows.filter { $0.hasPrefix("  ") && ($0.contains("  firing  ") || $0.contains("  resolved  ")) }.count == 30, "\(all)")
            #expect(!all.stdout.contains("(show --all)"), "\(all)")
        }
    }
}
