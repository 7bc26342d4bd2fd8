import AlertBridgeCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// A small deterministic generator, so a failing case can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Byte- and token-level mutations of valid bodies: what a broken sender or an attacker sends.
enum Mutator {
    static let tokens: [String] = ["null", "true", "-1", "1e999", "\"\"", "{}", "[]", "\"\\u0000\"", "\"\u{FFFF}\"",
                                   "9223372036854775808", "\"firing\"", "\"resolved\"", "[[[[[[", "}}}}", ",", ":",
                                   String(repeating: "a", count: 5000), "\"\\ud800\"", "0.0000001", "\"critical\""]

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !bytes.isEmpty else { return Array(tokens.randomElement(using: &rng)!.utf8) }
            let i = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes.removeSubrange(i..<min(bytes.count, i + Int.random(in: 1...16, using: &rng)))
            case 2: bytes.insert(contentsOf: tokens.randomElement(using: &rng)!.utf8, at: i)
            case 3: bytes = Array(bytes.prefix(i))
            case 4:
                let j = Int.random(in: i..<bytes.count, using: &rng)
                bytes.insert(contentsOf: bytes[i...j], at: j)
            default:
                // Replace a JSON value after a colon with another kind of value.
                if let colon = bytes[i...].firstIndex(of: UInt8(ascii: ":")) {
                    let end = bytes[(colon + 1)...].firstIndex(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "}") }) ?? bytes.count
                    bytes.replaceSubrange((colon + 1)..<end, with: tokens.randomElement(using: &rng)!.utf8)
                }
            }
        }
        return bytes
    }
}

@Suite struct FuzzTests {
    static let corpus: [(path: String, body: String)] = [
        ("/api/v1/alerts", nativeAlert()),
        ("/api/v1/alerts", "[\(nativeAlert()), \(nativeAlert(pop: "NRT2", status: "resolved"))]"),
        ("/api/v1/alertmanager", """
            {"version": "4", "status": "firing", "receiver": "bridge", "alerts": [
              {"status": "firing", "labels": {"alertname": "EdgeLatencyHigh", "pop": "ICN1", "instance": "e1"},
               "annotations": {"summary": "p95 1.4s"}, "startsAt": "2026-11-23T09:05:00Z",
               "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "4121b34bb0a6af8e"}]}
            """),
        ("/v2/enqueue", """
            {"routing_key": "k", "event_action": "trigger", "dedup_key": "d",
             "payload": {"summary": "s", "source": "grafana", "severity": "critical", "custom_details": {"a": [1, {"b": null}]}}}
            """),
    ]

    @Test(arguments: 0..<4)
    func mutatedBodiesNeverCauseAServerErrorOrAPartialWrite(corpusIndex: Int) async throws {
        try await TestApp.withApp { client, app, _ in
            var rng = SplitMix64(state: UInt64(0xA1E7 + corpusIndex))
            let (path, body) = Self.corpus[corpusIndex]
            var accepted = 0
            for round in 0..<250 {
                let mutated = Mutator.mutate(Array(body.utf8), &rng)
                let before = try await app.store.incidents(.init(status: .all, limit: 1000))
                let status = try await client.execute(uri: path, method: .post, headers: [.contentType: "application/json"],
                                                      body: ByteBuffer(bytes: mutated)) { $0.status }
                #expect(status.code < 500, "round \(round): \(String(decoding: mutated, as: UTF8.self))")
                if status == .accepted {
                    accepted += 1
                } else {
                    let after = try await app.store.incidents(.init(status: .all, limit: 1000))
                    #expect(after == before, "round \(round) was refused (\(status)) but changed the store")
                }
            }
            // The mutations must also reach the decoders' happy path sometimes, or this tests nothing.
            #expect(accepted > 0)
        }
    }

    @Test func randomBytesAreRefusedCleanly() async throws {
        try await TestApp.withApp { client, app, _ in
            var rng = SplitMix64(state: 42)
            for path in ["/api/v1/alerts", "/api/v1/alertmanager", "/v2/enqueue", "/api/v1/incidents/1/ack"] {
                for _ in 0..<60 {
                    let bytes = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    let status = try await client.execute(uri: path, method: .post, body: ByteBuffer(bytes: bytes)) { $0.status }
                    #expect(status.code >= 400 && status.code < 500, "\(path): \(status)")
                }
            }
            #expect(try await app.store.incidents(.init(status: .all)).isEmpty)
        }
    }
}
