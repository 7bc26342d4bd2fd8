import AlertBridgeCore
@testable import AlertBridgeServer
import Hummingbird
import Testing

/// Decodes a native body with the ingest decoder.
func decodeNative(_ body: [UInt8], limits: IngestLimits = IngestLimits()) -> Result<[Alert], APIError> {
    Result { () throws(APIError) in try IngestJSON.nativeAlerts(from: ByteBuffer(bytes: body), limits: limits).alerts }
}

/// Decodes an Alertmanager webhook body with the ingest decoder.
func decodeAlertmanager(_ body: [UInt8], limits: IngestLimits = IngestLimits()) -> Result<[Alert], APIError> {
    Result { () throws(APIError) in try IngestJSON.alertmanagerAlerts(from: ByteBuffer(bytes: body), limits: limits) }
}

@Suite struct IngestJSONTests {
    enum Format: Sendable { case native, alertmanager }

    func decode(_ format: Format, _ json: String, limits: IngestLimits = IngestLimits()) -> Result<[Alert], APIError> {
        format == .native ? decodeNative(Array(json.utf8), limits: limits) : decodeAlertmanager(Array(json.utf8), limits: limits)
    }

    func time(_ text: String) throws -> Timestamp { try #require(RFC3339.parse(text)) }

    // MARK: Every field reaches the alert

    @Test func nativeFieldsRoundTrip() throws {
        let json = #"""
            {"source": "cdn-monitor", "status": "resolved", "severity": "error",
             "summary": "p95 \uC9C0\uC5F0 at 서울 \ud83d\ude80 \"q\" \\ \/ \b\f\n\r\t",
             "labels": {"alertname": "EdgeLatencyHigh", "pop": "ICN1", "region": "\uAD6C\uB85C", "empty": ""},
             "annotations": {"runbook": "https://wiki.example.com/runbooks/edge-latency", "설명": "지연 1.4초"},
             "dedup_key": "edge/ICN1", "starts_at": "2026-11-23T18:05:00.123456789Z", "ends_at": "2026-11-23T19:05:00+09:00",
             "value": 1.4e3, "threshold": -8E-1, "unknown": {"nested": [1, -2.5e10, {"x": null}, [true, false]]}}
            """#
        let alerts = try decode(.native, json).get()
        // The empty label is dropped, as Prometheus drops it.
        let labels = ["alertname": "EdgeLatencyHigh", "pop": "ICN1", "region": "구로"]
        #expect(alerts == [Alert(
            source: "cdn-monitor", status: .resolved, severity: .error,
            summary: "p95 지연 at 서울 🚀 \"q\" \\ / \u{8}\u{C}\n\r\t", labels: labels,
            annotations: ["runbook": "https://wiki.example.com/runbooks/edge-latency", "설명": "지연 1.4초"],
            dedupKey: "edge/ICN1",
            startsAt: try time("2026-11-23T18:05:00.123Z"), endsAt: try time("2026-11-23T10:05:00Z"),
            value: 1400, threshold: -0.8)])
    }

    @Test func nativeDefaultsAndShapes() throws {
        let one = #"{"labels": {"alertname": "PopDown", "severity": "critical"}, "dedup_key": null, "value": null}"#
        let (alerts, isArray) = try IngestJSON.nativeAlerts(from: ByteBuffer(string: one), limits: IngestLimits())
        #expect(!isArray)
        #expect(alerts == [Alert(source: "api", status: .firing, severity: .critical, summary: "PopDown",
                                 labels: ["alertname": "PopDown", "severity": "critical"])])
        let array = " \n[\(one), {\"labels\": {\"a\": \"b\"}, \"annotations\": {\"summary\": \"from annotations\"}}]\r\n"
        let batch = try IngestJSON.nativeAlerts(from: ByteBuffer(string: array), limits: IngestLimits())
        #expect(batch.isArray)
        #expect(batch.alerts.map(\.summary) == ["PopDown", "from annotations"])
        #expect(batch.alerts.map(\.severity) == [.critical, .warning])
        // A UTF-8 byte order mark is skipped, as JSONDecoder skipped it.
        #expect(try decodeNative([0xEF, 0xBB, 0xBF] + Array(one.utf8)).get() == alerts)
    }

    /// A blank summary is none: the title falls back to the next that says something
    /// (pages went out titled with nothing: black-box round 24).
    @Test func aBlankSummaryIsNone() throws {
        #expect(try decode(.native, #"{"labels": {"alertname": "DiskFull"}, "summary": " "}"#).get().map(\.summary) == ["DiskFull"])
        #expect(try decode(.native, #"{"labels": {"alertname": "DiskFull"}, "annotations": {"summary": ""}}"#).get().map(\.summary)
            == ["DiskFull"])
        let webhook = #"{"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": "DiskFull"}, "annotations": {"summary": "", "description": "disk\nfull"}}]}"#
        #expect(try decode(.alertmanager, webhook).get().map(\.summary) == ["disk\nfull"])
    }

    /// An empty label is no label, as in Prometheus: `{pop: ""}` and no `pop` are one
    /// alert (they were two incidents, and a recovery without `pop` closed one).
    @Test func anEmptyLabelIsNoLabel() throws {
        let with = try decode(.native, #"{"labels": {"alertname": "FpEmpty", "pop": ""}}"#).get()
        let without = try decode(.native, #"{"labels": {"alertname": "FpEmpty"}}"#).get()
        #expect(with.map(\.labels) == [["alertname": "FpEmpty"]])
        #expect(with.map(\.fingerprint) == without.map(\.fingerprint))
        // Alertmanager's own fingerprint stays; a missing one is taken without the empty label.
        let webhook = #"{"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": "FpEmpty", "pop": ""}, "fingerprint": "0123456789abcdef"}, {"status": "firing", "labels": {"alertname": "FpEmpty", "pop": ""}}]}"#
        let am = try decode(.alertmanager, webhook).get()
        #expect(am.map(\.fingerprint) == ["0123456789abcdef", without[0].fingerprint])
        #expect(am.allSatisfy { $0.labels == ["alertname": "FpEmpty"] })
    }

    @Test func escapedMemberNamesAndDuplicateKeysDecodeAsJSONDecoderDid() throws {
        // JSONDecoder kept the first of duplicate names and never looked at the others.
        let alerts = try decode(.native, #"""
            {"\u006cabels": {"a": "x", "a": 1, "b": "y"}, "labels": 5, "source": "s1", "source": 2, "\u0073ummary": "s"}
            """#).get()
        #expect(alerts.map(\.labels) == [["a": "x", "b": "y"]])
        #expect(alerts.map(\.source) == ["s1"])
        #expect(alerts.map(\.summary) == ["s"])
    }

    @Test func alertmanagerFieldsRoundTrip() throws {
        let json = #"""
            {"receiver": "bridge", "status": "firing", "version": "4", "groupKey": "{}:{alertname=\"EdgeLatencyHigh\"}",
             "truncatedAlerts": 0, "externalURL": "http://alertmanager:9093",
             "groupLabels": {"alertname": "EdgeLatencyHigh"}, "commonLabels": {"pop": "ICN1", "nested": {"deep": [[], {}]}},
             "commonAnnotations": {}, "alerts": [
              {"status": "firing", "labels": {"alertname": "EdgeLatencyHigh", "pop": "ICN1", "instance": "e1", "severity": "critical"},
               "annotations": {"summary": "p95 1.4s", "description": "\uc11c\uc6b8 엣지"}, "startsAt": "2026-11-23T09:05:00.987654321Z",
               "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus/graph?g0.expr=x", "fingerprint": "4121b34bb0a6af8e"},
              {"status": "resolved", "labels": {"alertname": "EdgeLatencyHigh", "pop": "ICN1", "instance": "e2"},
               "annotations": {"description": "only a description"}, "startsAt": "2026-11-23T09:05:00Z",
               "endsAt": "2026-11-23T17:45:59Z", "generatorURL": null},
              {"status": "firing", "labels": {"instance": "e3"}, "endsAt": null}]}
            """#
        let alerts = try decode(.alertmanager, json).get()
        let labels2 = ["alertname": "EdgeLatencyHigh", "pop": "ICN1", "instance": "e2"]
        // Alertmanager's fingerprint is of the labels, and its late recoveries are dropped.
        #expect(alerts.allSatisfy { $0.fingerprintCoversLabels && $0.dropsLateRecoveries && !$0.dropsLateCopies })
        func fields(_ a: Alert) -> Alert { var a = a; a.fingerprintCoversLabels = false; a.dropsLateRecoveries = false; return a }
        #expect(alerts.map(fields) == [
            Alert(source: "alertmanager", status: .firing, severity: .critical, summary: "p95 1.4s",
                  labels: ["alertname": "EdgeLatencyHigh", "pop": "ICN1", "instance": "e1", "severity": "critical"],
                  annotations: ["summary": "p95 1.4s", "description": "서울 엣지", "generator_url": "http://prometheus/graph?g0.expr=x"],
                  fingerprint: "4121b34bb0a6af8e",
                  startsAt: try time("2026-11-23T09:05:00.987Z")),
            Alert(source: "alertmanager", status: .resolved, severity: .warning, summary: "only a description",
                  labels: labels2, annotations: ["description": "only a description"], fingerprint: Fingerprint.of(labels2),
                  startsAt: try time("2026-11-23T09:05:00Z"), endsAt: try time("2026-11-23T17:45:59Z")),
            Alert(source: "alertmanager", status: .firing, severity: .warning, summary: "alert", labels: ["instance": "e3"]),
        ].map(fields))
    }

    @Test(arguments: [
        ("0", 0.0), ("-0", -0.0), ("1.4", 1.4), ("0.8", 0.8), ("1e3", 1e3), ("1E+3", 1e3), ("-2.5e-3", -2.5e-3),
        ("123456789012345678901234567890", 123456789012345678901234567890.0), ("0.1", 0.1),
        ("3.141592653589793", 3.141592653589793), ("9007199254740993", 9007199254740993.0), ("1e22", 1e22),
        ("1e23", 1e23), ("4.9e-324", .leastNonzeroMagnitude), ("1.7976931348623157e308", 1.7976931348623157e308),
        ("0.000001", 0.000001), ("1.000000000000000000000000000001", 1.0), ("2.2250738585072014e-308", 2.2250738585072014e-308),
        ("0e-999", 0.0), ("100000000000000000000000", 1e23), ("-0.0e5", -0.0), ("12345678901234.5", 12345678901234.5),
    ])
    func numbersAreWhatDoubleOfTheirTextIs(text: String, expected: Double) throws {
        let alerts = try decode(.native, #"{"labels": {"a": "b"}, "value": \#(text), "threshold": \#(text)}"#).get()
        let parsed = try #require(Double(text))
        #expect(parsed.bitPattern == expected.bitPattern)
        #expect(alerts.first?.value?.bitPattern == parsed.bitPattern)
        #expect(alerts.first?.threshold?.bitPattern == parsed.bitPattern)
    }

    // MARK: Wrong types, missing fields, invalid values: JSONDecoder's messages and paths

    @Test(arguments: [
        (#"{"summary": "x"}"#, "labels", "is required"),
        (#"{"labels": null}"#, "labels", "expected an object, found null"),
        (#"{"labels": 3}"#, "labels", "expected an object"),
        (#"{"labels": ["a"]}"#, "labels", "expected an object"),
        (#"{"labels": {"pop": 3}}"#, "labels.pop", "expected a string"),
        (#"{"labels": {"pop": null}}"#, "labels.pop", "expected a string, found null"),
        (#"{"labels": {"5": true}}"#, "labels[5]", "expected a string"),
        (#"{"labels": {"a": "b"}, "annotations": []}"#, "annotations", "expected an object"),
        (#"{"labels": {"a": "b"}, "annotations": {"runbook": {}}}"#, "annotations.runbook", "expected a string"),
        (#"{"labels": {"a": "b"}, "source": 1}"#, "source", "expected a string"),
        (#"{"labels": {"a": "b"}, "status": false}"#, "status", "expected a string"),
        (#"{"labels": {"a": "b"}, "summary": []}"#, "summary", "expected a string"),
        (#"{"labels": {"a": "b"}, "dedup_key": 7}"#, "dedup_key", "expected a string"),
        (#"{"labels": {"a": "b"}, "value": "high"}"#, "value", "expected a number"),
        (#"{"labels": {"a": "b"}, "threshold": true}"#, "threshold", "expected a number"),
        (#"{"labels": {"a": "b"}, "starts_at": 5}"#, "starts_at", "expected a string"),
        (#"{"labels": {"a": "b"}, "starts_at": "yesterday"}"#, "starts_at", #"not an RFC 3339 time: "yesterday""#),
        (#"{"labels": {"a": "b"}, "ends_at": "2026-11-23"}"#, "ends_at", #"not an RFC 3339 time: "2026-11-23""#),
        (#"{"labels": {"a": "b"}, "starts_at": "2026-02-29T10:00:00Z"}"#, "starts_at",
         #"not an RFC 3339 time: "2026-02-29T10:00:00Z" (February 2026 has 28 days)"#),
        // Of several problems, the property declared first, wherever it is in the body.
        (#"{"value": "x", "starts_at": "bad", "labels": 3}"#, "labels", "expected an object"),
        (#"{"value": "x", "labels": {"a": "b"}, "starts_at": "bad"}"#, "starts_at", #"not an RFC 3339 time: "bad""#),
        (#"[{"labels": {"a": "b"}}, {"labels": {"a": "b"}, "severity": 1}]"#, "[1].severity", "expected a string"),
        (#"[{"labels": {"a": "b"}}, {"labels": {"7": null}}]"#, "[1].labels[7]", "expected a string, found null"),
        (#"[{"labels": {"a": "b"}}, 1]"#, "[1]", "expected an object"),
        (#"[null]"#, "[0]", "expected an object, found null"),
        (#"null"#, nil, "expected an object or an array of objects, found null"),
        // Decoding problems anywhere come before invalid values.
        (#"[{"labels": {"a": "b"}, "status": "nope"}, {"labels": 5}]"#, "[1].labels", "expected an object"),
        (#"{"labels": {"pop": "ICN1"}, "status": "exploded"}"#, "status", #"unknown status "exploded" (expected firing or resolved)"#),
        (#"{"labels": {"pop": "ICN1"}, "severity": "sev1"}"#, "severity",
         #"unknown severity "sev1" (expected critical, error, warning or info)"#),
        (#"{"labels": {"pop": "ICN1"}, "dedup_key": ""}"#, "dedup_key", "must not be empty (omit it or use null)"),
        (#"{"labels": {}}"#, "labels", "needs at least one label"),
        (#"{"labels": {"alertname": ""}}"#, "labels", "needs at least one label with a value (an empty value is no label)"),
        (#"{"labels": {"bad-name": "x"}}"#, "labels.bad-name", #""bad-name" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)"#),
        (#"[{"labels": {"a": "b"}}, {"labels": {"a": "b"}, "status": "nope"}]"#, "[1].status",
         #"unknown status "nope" (expected firing or resolved)"#),
    ] as [(String, String?, String)])
    func nativeProblemsNameTheField(json: String, field: String?, message: String) {
        let result = decode(.native, json)
        #expect(result.failure?.status == .badRequest)
        #expect(result.failure?.field == field)
        #expect(result.failure?.message == message)
    }

    /// A rule author's `Critical` is critical: it ran the warning policy, and nothing said
    /// why (black-box round 23). A `severity` field stays exact: its sender gets the 400.
    @Test func aSeverityLabelIsReadInAnyCase() throws {
        func webhook(_ severity: String) -> String {
            #"{"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": "PopDown", "severity": "\#(severity)"}}]}"#
        }
        #expect(try decode(.alertmanager, webhook("Critical")).get().map(\.severity) == [.critical])
        #expect(try decode(.alertmanager, webhook("CRITICAL")).get().map(\.severity) == [.critical])
        #expect(try decode(.alertmanager, webhook("page")).get().map(\.severity) == [.warning])
        #expect(try decode(.native, #"{"labels": {"pop": "ICN1", "severity": "Error"}}"#).get().map(\.severity) == [.error])
        #expect(decode(.native, #"{"labels": {"pop": "ICN1"}, "severity": "Error"}"#).failure?.field == "severity")
    }

    /// `truncatedAlerts`: every alert of a cut webhook knows how many were left out.
    @Test func aCutWebhooksAlertsKnowHowManyWereLeftOut() throws {
        func webhook(_ truncated: String) -> String {
            #"{"version": "4", "truncatedAlerts": \#(truncated), "alerts": [{"status": "resolved", "labels": {"a": "b"}}, {"status": "firing", "labels": {"a": "c"}}]}"#
        }
        #expect(try decode(.alertmanager, webhook("3")).get().map(\.groupLeftOut) == [3, 3])
        #expect(try decode(.alertmanager, webhook("0")).get().map(\.groupLeftOut) == [0, 0])
        #expect(decode(.alertmanager, webhook(#""3""#)).failure?.field == "truncatedAlerts")
    }

    @Test(arguments: [
        (#"{}"#, "version", "is required"),
        (#"{"version": 4, "alerts": []}"#, "version", "expected a string"),
        (#"{"version": null, "alerts": []}"#, "version", "expected a string, found null"),
        (#"{"alerts": [{"status": 1}], "version": 4}"#, "version", "expected a string"),
        (#"{"version": "3", "alerts": []}"#, "version", #"unsupported webhook payload version "3" (expected "4")"#),
        (#"{"version": "4"}"#, "alerts", "is required"),
        (#"{"version": "4", "alerts": null}"#, "alerts", "expected an array, found null"),
        (#"{"version": "4", "alerts": {}}"#, "alerts", "expected an array"),
        (#"{"version": "4", "receiver": 5, "alerts": []}"#, "receiver", "expected a string"),
        (#"{"version": "4", "status": [], "alerts": []}"#, "status", "expected a string"),
        (#"{"version": "4", "alerts": [5]}"#, "alerts[0]", "expected an object"),
        (#"{"version": "4", "alerts": [null]}"#, "alerts[0]", "expected an object, found null"),
        (#"{"version": "4", "alerts": [{"labels": {"a": "b"}}]}"#, "alerts[0].status", "is required"),
        (#"{"version": "4", "alerts": [{"status": null, "labels": {"a": "b"}}]}"#, "alerts[0].status",
         "expected a string, found null"),
        (#"{"version": "4", "alerts": [{"status": "firing"}]}"#, "alerts[0].labels", "is required"),
        (#"{"version": "4", "alerts": [{"status": "firing", "labels": {"3": 1}}]}"#, "alerts[0].labels[3]", "expected a string"),
        (#"{"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}, "generatorURL": 5}]}"#,
         "alerts[0].generatorURL", "expected a string"),
        (#"{"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}, "fingerprint": 5}]}"#,
         "alerts[0].fingerprint", "expected a string"),
        (#"{"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}, "startsAt": 5}]}"#,
         "alerts[0].startsAt", "expected a string"),
        (#"{"version": "4", "alerts": [{"status": "weird", "labels": {"a": "b"}}]}"#, "alerts[0].status",
         #"unknown status "weird" (expected firing or resolved)"#),
        (#"{"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}, "startsAt": "noon"}]}"#,
         "alerts[0].startsAt", #"not an RFC 3339 time: "noon""#),
        (#"{"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}, "endsAt": "0001-02-01T00:00:00"}]}"#,
         "alerts[0].endsAt", #"not an RFC 3339 time: "0001-02-01T00:00:00""#),
        (#"{"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}, "startsAt": "2026-13-01T00:00:00Z"}]}"#,
         "alerts[0].startsAt", #"not an RFC 3339 time: "2026-13-01T00:00:00Z" (there is no month 13)"#),
        (#"{"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}, "fingerprint": ""}]}"#,
         "alerts[0].fingerprint", "must be Alertmanager's 16-digit hex fingerprint"),
        (#"{"version": "4", "alerts": [{"status": "firing", "labels": {}}]}"#, "alerts[0].labels", "needs at least one label"),
        (#"{"alerts": [{"status": "weird", "labels": {"a": "b"}}, {"status": "firing", "labels": 1}], "version": "3"}"#,
         "alerts[1].labels", "expected an object"),
        (#"{"alerts": [{"status": "weird", "labels": {"a": "b"}}], "version": "3"}"#, "version",
         #"unsupported webhook payload version "3" (expected "4")"#),
        (#"null"#, nil, "expected an object, found null"),
        // A webhook is one object: an array is not "an object or an array of objects" here.
        (#"[]"#, nil, "expected an object, found an array"),
        (#""4""#, nil, "expected an object, found a string"),
        (#"[{"version": "4", "alerts": []}]"#, nil, "expected an object, found an array"),
    ] as [(String, String?, String)])
    func alertmanagerProblemsNameTheField(json: String, field: String?, message: String) {
        let result = decode(.alertmanager, json)
        #expect(result.failure?.status == .badRequest)
        #expect(result.failure?.field == field)
        #expect(result.failure?.message == message)
    }

    @Test func limitsAreCheckedWithTheirFields() throws {
        var limits = IngestLimits()
        limits.maxAlertsPerRequest = 2
        let one = #"{"labels": {"a": "b"}}"#
        let three = "[\(one), \(one), \(one)]"
        #expect(decode(.native, three, limits: limits).failure?.message == "has 3 alerts, more than the limit of 2")
        #expect(decode(.native, three, limits: limits).failure?.field == nil)
        #expect(decode(.native, "[]").failure?.message == "the array holds no alert")
        // Alertmanager does not retry a 400: its group is cut as its receiver's `max_alerts` would,
        // and the alerts left out are counted (a recovery in it resolves nothing).
        let items = ["a", "b", "c"].map { "{\"status\": \"firing\", \"labels\": {\"a\": \"\($0)\"}}" }
        let webhook = #"{"version": "4", "truncatedAlerts": 5, "alerts": [\#(items.joined(separator: ","))]}"#
        let cut = try decode(.alertmanager, webhook, limits: limits).get()
        #expect(cut.map { $0.labels["a"] } == ["a", "b"] && cut.allSatisfy { $0.groupLeftOut == 6 })
        // Labels and annotations over their limits: those that fit are kept, `alertname` and
        // `summary` first, then the shortest names; a name over 128 bytes is left out.
        limits.maxLabels = 3
        limits.maxAnnotations = 1
        let many = #"{"version": "4", "alerts": [{"status": "firing", "labels": {"zone": "1", "alertname": "A", "pod_name": "2", "pop": "3", "\#(String(repeating: "n", count: 200))": "4"}, "annotations": {"a": "x", "summary": "s"}}]}"#
        let fitted = try decode(.alertmanager, many, limits: limits).get()[0]
        #expect(fitted.labels == ["alertname": "A", "pop": "3", "zone": "1"] && fitted.annotations == ["summary": "s"])
        let long = String(repeating: "x", count: 2000)
        #expect(decode(.native, #"[\#(one), {"labels": {"pop": "\#(long)"}}]"#).failure?.field == "[1].labels.pop")
        #expect(decode(.native, #"{"labels": {"a": "b"}, "source": "\#(long)"}"#).failure?.message == "is longer than 128 bytes")
        #expect(decode(.native, #"{"labels": {"a": "b"}, "summary": "\#(long)"}"#).failure?.field == "summary")
    }

    /// A summary alertbridge takes from an annotation is cut to `max_summary_bytes`, not
    /// refused: the sender never wrote it as a summary, and Alertmanager drops what gets a 400.
    @Test func aSummaryTakenFromAnAnnotationIsCutNotRefused() throws {
        let long = String(repeating: "지연 ", count: 500)  // 3,500 bytes, 7 per repeat
        for json in [#"{"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}, "annotations": {"description": "\#(long)"}}]}"#,
                     #"{"version": "4", "alerts": [{"status": "firing", "labels": {"a": "b"}, "annotations": {"summary": "\#(long)"}}]}"#] {
            let alert = try decode(.alertmanager, json).get()[0]
            #expect(alert.summary.utf8.count <= 1024)
            #expect(alert.summary.hasSuffix("…"))
            #expect(long.hasPrefix(alert.summary.dropLast()))
            #expect(alert.annotations.values.contains(long))
        }
        let native = try decode(.native, #"{"labels": {"a": "b"}, "annotations": {"summary": "\#(long)"}}"#).get()[0]
        #expect(native.summary.utf8.count <= 1024)
        #expect(native.annotations["summary"] == long)
    }

    /// U+0000 is valid JSON, but PostgreSQL cannot store it: it arrives as U+FFFD.
    @Test func aNulBecomesTheReplacementCharacter() throws {
        let alert = try decode(.native, #"{"labels": {"a": "x\u0000y"}, "summary": "\u0000"}"#).get()[0]
        #expect(alert.labels["a"] == "x\u{FFFD}y")
        #expect(alert.summary == "\u{FFFD}")
    }

    // MARK: Malformed JSON

    static let malformed: [(String, [UInt8])] = [
        ("empty body", []),
        ("only whitespace", Array(" \n\t ".utf8)),
        ("truncated", Array(#"{"labels": "#.utf8)),
        ("truncated object", Array(#"{"labels": {"a": "x"}"#.utf8)),
        ("truncated string", Array(#"{"labels": {"a": "x"#.utf8)),
        ("trailing comma in an object", Array(#"{"labels": {"a": "x"},}"#.utf8)),
        ("trailing comma in an array", Array(#"[{"labels": {"a": "x"}},]"#.utf8)),
        ("trailing comma in a map", Array(#"{"labels": {"a": "x",}}"#.utf8)),
        ("missing comma", Array(#"{"labels": {"a": "x"} "source": "s"}"#.utf8)),
        ("missing colon", Array(#"{"labels" {"a": "x"}}"#.utf8)),
        ("unquoted name", Array(#"{labels: {"a": "x"}}"#.utf8)),
        ("single quotes", Array(#"{'labels': {"a": "x"}}"#.utf8)),
        ("bad escape", Array(#"{"labels": {"a": "x\q"}}"#.utf8)),
        ("short unicode escape", Array(#"{"labels": {"a": "\u12"}}"#.utf8)),
        ("non-hex unicode escape", Array(#"{"labels": {"a": "\u12G4"}}"#.utf8)),
        ("lone high surrogate", Array(#"{"labels": {"a": "\ud800"}}"#.utf8)),
        ("lone low surrogate", Array(#"{"labels": {"a": "\udc00"}}"#.utf8)),
        ("high surrogate before a non-surrogate", Array(#"{"labels": {"a": "\ud800\u0041"}}"#.utf8)),
        ("invalid UTF-8 byte", Array(#"{"labels": {"a": "x"#.utf8) + [0xFF] + Array(#""}}"#.utf8)),
        ("overlong UTF-8", Array(#"{"labels": {"a": "x"#.utf8) + [0xC0, 0xAF] + Array(#""}}"#.utf8)),
        ("UTF-8 encoded surrogate", Array(#"{"labels": {"a": "x"#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}}"#.utf8)),
        ("truncated UTF-8", Array(#"{"labels": {"a": "x"#.utf8) + [0xEC, 0x9D] + Array(#""}}"#.utf8)),
        ("invalid UTF-8 in an ignored member", Array(#"{"labels": {"a": "x"}, "x": ""#.utf8) + [0xFE] + Array(#""}"#.utf8)),
        ("control character in a string", Array(#"{"labels": {"a": "x"#.utf8) + [0x01] + Array(#""}}"#.utf8)),
        ("raw tab in a string", Array("{\"labels\": {\"a\": \"x\ty\"}}".utf8)),
        ("depth bomb", Array(#"{"labels": {"a": "x"}, "e": "#.utf8) + Array(repeating: UInt8(ascii: "["), count: 100_000)),
        ("65 levels", Array(("[" + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "]").utf8)),
        ("trailing garbage", Array(#"{"labels": {"a": "x"}} x"#.utf8)),
        ("second value", Array(#"{"labels": {"a": "x"}} {}"#.utf8)),
        ("extra closing brace", Array(#"{"labels": {"a": "x"}}}"#.utf8)),
        ("leading zero", Array(#"{"labels": {"a": "x"}, "value": 01}"#.utf8)),
        ("bare fraction point", Array(#"{"labels": {"a": "x"}, "value": 1.}"#.utf8)),
        ("leading fraction point", Array(#"{"labels": {"a": "x"}, "value": .5}"#.utf8)),
        ("plus sign", Array(#"{"labels": {"a": "x"}, "value": +1}"#.utf8)),
        ("lone minus", Array(#"{"labels": {"a": "x"}, "value": -}"#.utf8)),
        ("empty exponent", Array(#"{"labels": {"a": "x"}, "x": 1e}"#.utf8)),
        ("NaN", Array(#"{"labels": {"a": "x"}, "value": NaN}"#.utf8)),
        ("bad literal", Array(#"{"labels": {"a": "x"}, "x": tru}"#.utf8)),
        ("a number and garbage", Array("42 x".utf8)),
    ]

    @Test(arguments: 0..<malformed.count)
    func malformedBodiesAre400sThatSayWhere(index: Int) {
        let (name, body) = Self.malformed[index]
        for result in [decodeNative(body), decodeAlertmanager(body)] {
            let error = result.failure
            #expect(error?.status == .badRequest, "\(name)")
            #expect(error?.field == nil, "\(name)")
            #expect(error?.message.hasPrefix("malformed JSON: ") == true, "\(name): \(String(describing: error?.message))")
            #expect(error?.message.contains(" at line ") == true, "\(name): \(String(describing: error?.message))")
        }
    }

    /// Well-formed JSON of another kind than the body takes is not "malformed", which
    /// sends the sender looking for a syntax error: it says what it found.
    @Test func aBodyOfAnotherKindSaysWhatItFound() {
        for (body, found) in [(#""just a string""#, "a string"), ("42", "a number"), ("true", "a boolean")] {
            let native = decodeNative(Array(body.utf8)).failure
            #expect(native?.message == "expected an object or an array of objects, found \(found)" && native?.field == nil)
            let webhook = decodeAlertmanager(Array(body.utf8)).failure
            #expect(webhook?.message == "expected an object, found \(found)" && webhook?.field == nil)
        }
    }

    /// JSONDecoder refused these as malformed too, but only in the fields it decoded as numbers;
    /// the answer names that field.
    @Test(arguments: ["1e999", "-1e999", "2e-324", "-2e-324", "1" + String(repeating: "0", count: 400),
                      "0." + String(repeating: "0", count: 400) + "1"])
    func numbersADoubleCannotHoldAreMalformed(text: String) {
        for field in ["value", "threshold"] {
            let error = decode(.native, #"{"labels": {"a": "x"}, "\#(field)": \#(text)}"#).failure
            #expect(error?.message.hasPrefix("malformed JSON: number \(text.prefix(32))") == true)
            #expect(error?.message.contains(" does not fit in a Double at line 1, column ") == true)
            #expect(error?.field == field, "the sender learns which field")
        }
        #expect(decode(.native, #"{"labels": {"a": "x"}, "other": \#(text)}"#).failure == nil)
    }

    @Test func malformedJSONSaysTheLineColumnAndByte() {
        #expect(decode(.native, #"{"labels": {"a": "x"},}"#).failure?.message
            == "malformed JSON: unexpected '}', expected a member name at line 1, column 23 (byte 22)")
        #expect(decode(.native, "{\n\"labels\": x}").failure?.message
            == "malformed JSON: unexpected 'x', expected a value at line 2, column 11 (byte 12)")
        #expect(decode(.alertmanager, "").failure?.message
            == "malformed JSON: unexpected end of the body, expected a value at line 1, column 1 (byte 0)")
        #expect(decode(.native, #"{"labels": {"a": "\ud800"}}"#).failure?.message
            == #"malformed JSON: unpaired UTF-16 surrogate in \u escape at line 1, column 19 (byte 18)"#)
        #expect(decode(.native, #"{"labels": {"a": "x"}, "value": 1e999}"#).failure?.message
            == "malformed JSON: number 1e999 does not fit in a Double at line 1, column 33 (byte 32)")
        let deep = "[" + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "]"
        #expect(decode(.native, deep).failure?.message
            == "malformed JSON: nesting deeper than 64 levels at line 1, column 65 (byte 64)")
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
