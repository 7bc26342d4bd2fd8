/// A label set: the identity of an alert, as in Prometheus.
public typealias Labels = [String: String]

/// Alertmanager-compatible label fingerprints.
///
/// Alertmanager (through prometheus/common `model.LabelSet.Fingerprint`) hashes the
/// label set with 64-bit FNV-1a: for each label name in sorted order, the name, a 0xFF
/// separator, the value and another 0xFF. Using the same function means an alert
/// deduplicates to the same key whether it arrives natively or through Alertmanager.
public enum Fingerprint {
    static let offset: UInt64 = 14_695_981_039_346_656_037
    static let prime: UInt64 = 1_099_511_628_211
    static let separator: UInt8 = 0xFF

    /// The fingerprint as Alertmanager prints it: 16 lowercase hex digits.
    public static func of(_ labels: Labels) -> String {
        hex(value(of: labels))
    }

    public static func value(of labels: Labels) -> UInt64 {
        var hash = offset
        for label in labels.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            add(label.key, to: &hash)
            add(label.value, to: &hash)
        }
        return hash
    }

    /// FNV-1a of one text, as 16 hex digits.
    public static func of(text: String) -> String {
        var hash = offset
        add(text, to: &hash)
        return hex(hash)
    }

    private static func add(_ string: String, to hash: inout UInt64) {
        for byte in string.utf8 {
            hash ^= UInt64(byte)
            hash &*= prime
        }
        hash ^= UInt64(separator)
        hash &*= prime
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
