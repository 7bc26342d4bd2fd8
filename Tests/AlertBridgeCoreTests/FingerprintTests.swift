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

    @Test func emptyLabelSetIsTheFNVOffset() {
        #expect(Fingerprint.of([:]) == "cbf29ce484222325")
    }
}
