import AlertBridgeCore
@testable import AlertBridgeServer
import Foundation
import Testing

/// The ingest decoder against the `JSONDecoder` decoding it replaced
/// (``JSONDecoderReference``): the same alerts for valid bodies, the same answer for
/// broken ones.
@Suite struct IngestJSONDifferentialTests {
    /// The storm body of `bench/lua/common.lua`: 100 native alerts.
    static let storm: String = "[" + (0..<100).map { i in
        let pop = "POP" + String(repeating: "0", count: 3 - String(i).count) + String(i)
        return #"{"source":"bench","status":"firing","severity":"warning","#
            + #""summary":"p95 latency 1.4s at \#(pop) (threshold 800ms)","labels":{"alertname":"EdgeLatencyHigh","#
            + #""pop":"\#(pop)","region":"apac","service":"cdn-edge"},"#
            + #""annotations":{"runbook":"https://wiki.example.com/runbooks/edge-latency"},"#
            + #""starts_at":"2026-01-01T00:00:00Z","value":1.4,"threshold":0.8}"#
    }.joined(separator: ",") + "]"

    static let nativeBodies: [String] = [
        nativeAlert(),
        "[\(nativeAlert()), \(nativeAlert(pop: "NRT2", status: "resolved", severity: "info"))]",
        storm,
        #"{"labels": {"alertname": "PopDown", "severity": "critical"}}"#,
        #"""
        {"source": "\u0063dn", "summary": "\uD55C\uAD6D\uc5b4 요약 \ud83d\udea8", "labels": {"a": "\u00e9\u4e2d", "b": ""},
         "annotations": {"summary": "x", "description": "y\n\tz"}, "dedup_key": "k", "starts_at": "2026-11-23T18:05:00.123456789+09:00",
         "ends_at": "2026-11-23T18:05:00.5-01:30", "value": -12.5e-3, "threshold": 1E2, "extra": [{"a": [1, 2, {"b": null}]}, true]}
        """#,
        #"[{"labels": {"a": "x", "a": "y"}, "labels": {"b": "c"}}, {"labels": {"severity": "bogus"}, "status": null}]"#,
    ]

    static let webhookBodies: [String] = [
        """
        {"version": "4", "status": "firing", "receiver": "bridge", "groupLabels": {"alertname": "X"}, "truncatedAlerts": 0,
         "commonLabels": {}, "commonAnnotations": {"a": "b"}, "externalURL": "http://am", "groupKey": "{}:{}", "alerts": [
          {"status": "firing", "labels": {"alertname": "EdgeLatencyHigh", "pop": "ICN1", "instance": "e1", "severity": "error"},
           "annotations": {"summary": "p95 1.4s"}, "startsAt": "2026-11-23T09:05:00Z",
           "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "4121b34bb0a6af8e", "generatorURL": "http://p"},
          {"status": "resolved", "labels": {"alertname": "EdgeLatencyHigh", "pop": "ICN1", "instance": "e2"},
           "annotations": {"description": "d"}, "startsAt": "2026-11-23T09:05:00.123456789Z", "endsAt": "2026-11-23T17:45:59Z"}]}
        """,
        #"{"version": "4", "alerts": []}"#,
    ] + fixtures

    /// The captured Alertmanager 0.25 requests under `shared/fixtures/alertmanager`.
    static var fixtures: [String] {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../shared/fixtures/alertmanager")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().compactMap { name in
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(name)),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let body = object["body"],
                  let json = try? JSONSerialization.data(withJSONObject: body) else { return nil }
            return String(decoding: json, as: UTF8.self)
        }
    }

    @Test func theAlertmanagerFixturesAreHere() {
        #expect(Self.fixtures.count == 3)
    }

    @Test(arguments: nativeBodies.indices)
    func validNativeBodiesDecodeAsJSONDecoderDecodedThem(index: Int) throws {
        let body = Array(Self.nativeBodies[index].utf8)
        let reference = try JSONDecoderReference.native(body).get()
        #expect(try decodeNative(body).get() == reference)
    }

    @Test(arguments: webhookBodies.indices)
    func validWebhooksDecodeAsJSONDecoderDecodedThem(index: Int) throws {
        let body = Array(Self.webhookBodies[index].utf8)
        let reference = try JSONDecoderReference.alertmanager(body).get()
        #expect(try decodeAlertmanager(body).get() == reference)
    }

    /// Broken variants of the valid bodies. Where the ingest decoder does not call a body
    /// malformed, JSONDecoder answered the same; where JSONDecoder called it malformed, so
    /// does the ingest decoder. (It calls more bodies malformed: invalid UTF-8, trailing
    /// commas, bad numbers or escapes in ignored members, nesting deeper than 64.)
    @Test(arguments: 0..<(nativeBodies.count + webhookBodies.count))
    func mutatedBodiesGetJSONDecodersAnswer(corpusIndex: Int) {
        let native = corpusIndex < Self.nativeBodies.count
        let body = native ? Self.nativeBodies[corpusIndex] : Self.webhookBodies[corpusIndex - Self.nativeBodies.count]
        var rng = SplitMix64(state: UInt64(0xD1FF + corpusIndex))
        var compared = 0
        for round in 0..<1000 {
            let mutated = Mutator.mutate(Array(body.utf8), &rng)
            let ours = native ? decodeNative(mutated) : decodeAlertmanager(mutated)
            let reference = native ? JSONDecoderReference.native(mutated) : JSONDecoderReference.alertmanager(mutated)
            let text = String(decoding: mutated, as: UTF8.self)
            switch (ours, reference) {
            case (.failure(let a), .failure) where a.isMalformed:
                break
            case (.failure(let a), .success):
                #expect(a.isMalformed, "round \(round): \(a.message) [\(a.field ?? "")] but JSONDecoder accepted \(text)")
            case (.success(let a), .success(let b)):
                compared += 1
                #expect(a == b, "round \(round): \(text)")
            case (.success, .failure(let b)):
                Issue.record("round \(round): accepted, but JSONDecoder said \(b.message) [\(b.field ?? "")]: \(text)")
            case (.failure(let a), .failure(let b)):
                compared += 1
                #expect(a.sameAnswer(as: b), "round \(round): \(a.message) [\(a.field ?? "")] vs JSONDecoder's \(b.message) [\(b.field ?? "")]: \(text)")
            }
        }
        #expect(compared > 50)
    }
}

extension APIError {
    var isMalformed: Bool { message.hasPrefix("malformed JSON") }

    /// Equal, or a problem in the same label or annotation map where JSONDecoder (and the
    /// limit checks, over a `Dictionary`) picked one of several entries in hash order.
    func sameAnswer(as other: APIError) -> Bool {
        if isMalformed && other.isMalformed { return field == other.field }
        // A body of another kind than an object: the native reader names the array it also takes.
        if field == nil, other.field == nil, message.hasPrefix("expected an object"), other.message.hasPrefix("expected an object") {
            return message.hasSuffix(other.message.components(separatedBy: ", found").last ?? "")
        }
        if message == other.message && field == other.field { return true }
        guard let map = Self.map(of: field), map == Self.map(of: other.field) else { return false }
        return message.hasPrefix("expected") == other.message.hasPrefix("expected")
    }

    /// `[1].labels` for `[1].labels.pop`, `[1].labels[5]` or `[1].labels`.
    private static func map(of field: String?) -> String? {
        guard let field else { return nil }
        for name in ["labels", "annotations"] {
            var search = field.startIndex..<field.endIndex
            while let range = field.range(of: name, range: search) {
                let before = range.lowerBound == field.startIndex ? nil : field[field.index(before: range.lowerBound)]
                let after = range.upperBound == field.endIndex ? nil : field[range.upperBound]
                if (before == nil || before == ".") && (after == nil || after == "." || after == "[") {
                    return String(field[..<range.upperBound])
                }
                search = range.upperBound..<field.endIndex
            }
        }
        return nil
    }
}
