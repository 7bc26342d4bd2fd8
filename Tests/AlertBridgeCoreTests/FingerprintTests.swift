import AlertBridgeCore
import Testing

@Suite struct FingerprintTests {
    @Test func matchesAlertmanager() {
        // Value printed by Alertmanager 0.25 for this label set.
        #expect(Fingerprint.of(["alertname": "DiskFull", "instance": "db1:9100", "severity": "critical"]) == "efb0c6c488e007da")
    }

    @Test func matchesTheFixtureFingerprints() {
        // From shared/fixtures/alertmanager/02: Alertmanager's own fingerprints for two edge hosts.
        let base = ["alertname": "EdgeLatencyHigh", "pop": "ICN1", "region": "apac", "service": "cdn-edge", "severity": "critical"]
        #expect(Fingerprint.of(base.merging(["instance": "icn1-edge-01:9113"]) { $1 }) == "4121b34bb0a6af8e")
        #expect(Fingerprint.of(base.merging(["instance": "icn1-edge-02:9113"]) { $1 }) == "86e4623dad657b77")
    }

    @Test func ignoresInsertionOrderButNotValues() {
        let a = Fingerprint.of(["b": "2", "a": "1"])
        #expect(a == Fingerprint.of(["a": "1", "b": "2"]))
        #expect(a != Fingerprint.of(["a": "1", "b": "3"]))
        // The separator keeps "ab"+"c" apart from "a"+"bc".
        #expect(Fingerprint.of(["ab": "c"]) != Fingerprint.of(["a": "bc"]))
    }

    @Test func sortsNamesByTheirBytesAsGoDoes() {
        // Expected values from an independent FNV-1a over the names sorted by UTF-8 bytes.
        // Byte order puts "B" before "a", "pop" before "pop2", and "e" + U+0301 before "é"
        // (Swift's own `<` would put those two the other way round).
        let labels = ["pop2": "5", "a_b": "3", "\u{E9}a": "7", "e\u{301}x": "6", "a": "2", "pop": "4", "B": "1"]
        #expect(Fingerprint.of(labels) == "d4b22b1cc80804db")
    }

    @Test func keepsLeadingZeros() {
        #expect(Fingerprint.of(["alertname": "PopDown", "pop": "P3996"]) == "000041677d688cd7")
        #expect(Fingerprint.of(text: "pop1973") == "00ff3fc51ac08c75")
    }

    @Test func emptyLabelSetIsTheFNVOffset() {
        #expect(Fingerprint.of([:]) == "cbf29ce484222325")
    }
}
