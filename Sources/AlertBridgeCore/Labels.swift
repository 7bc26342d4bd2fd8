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
        // Sorting the dictionary's indices, not copies of its pairs; names compare by
        // their UTF-8 bytes, as Go compares strings (Swift's `<` orders by the scalars of
        // the canonical form, which differs for names that are not in NFC).
        let order = labels.indices.sorted { labels[$0].key.utf8.lexicographicallyPrecedes(labels[$1].key.utf8) }
        var hash = offset
        for index in order {
            let label = labels[index]
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
        var string = string
        string.withUTF8 { bytes in
            for byte in bytes {
                hash ^= UInt64(byte)
                hash &*= prime
            }
        }
        hash ^= UInt64(separator)
        hash &*= prime
    }

    /// 16 lowercase hex digits, most significant first.
    static func hex(_ value: UInt64) -> String {
        withUnsafeBytes(of: value.bigEndian) { Hex.string($0) }
    }
}
