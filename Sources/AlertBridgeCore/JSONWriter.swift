/// Writes JSON by hand, straight into bytes, for the documents on the ingest hot path:
/// the stores' row parameters and columns, and the ingest answers.
///
/// `JSONEncoder` spent about a sixth of the ingest CPU on those; they have fixed shapes,
/// so this writes them field by field. Strings are escaped per RFC 8259; anything
/// non-finite becomes `null`.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    /// `[row, row, ...]`, each row an object written by `body`.
    public static func array<T>(_ rows: [T], _ body: (inout JSONWriter, T) -> Void) -> String {
        var w = JSONWriter(capacity: rows.count * 256)
        w.list(rows, body)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// `[row, row, ...]` as a value (the document, or after ``key(_:)``), each row an
    /// object written by `body`.
    public mutating func list<T>(_ rows: [T], _ body: (inout JSONWriter, T) -> Void) {
        bytes.append(UInt8(ascii: "["))
        for (i, row) in rows.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            object { body(&$0, row) }
        }
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        let outer = needsComma
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = outer
    }

    public mutating func field(_ name: StaticString, _ value: String?) {
        key(name)
        if let value { string(value) } else { null() }
    }

    public mutating func field(_ name: StaticString, _ value: Int64?) {
        key(name)
        if let value { bytes.append(contentsOf: String(value).utf8) } else { null() }
    }

    public mutating func field(_ name: StaticString, _ value: Int) { field(name, Int64(value)) }

    public mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func field(_ name: StaticString, _ value: Double?) {
        key(name)
        if let value, value.isFinite { bytes.append(contentsOf: "\(value)".utf8) } else { null() }
    }

    /// A `Timestamp` as `EscalationState`'s `Codable` form writes it: an RFC 3339 string.
    public mutating func field(_ name: StaticString, rfc3339 value: Timestamp?) {
        field(name, value.map(RFC3339.format))
    }

    public mutating func field(_ name: StaticString, _ values: [String]) {
        key(name)
        value(values)
    }

    public mutating func value(_ values: [String]) {
        bytes.append(UInt8(ascii: "["))
        for (i, value) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            string(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func field(_ name: StaticString, _ labels: Labels) {
        key(name)
        value(labels)
    }

    /// A label map as an object with sorted keys.
    ///
    /// Sorts the pairs rather than the keys: looking each value up again hashed every
    /// key a second time, and this runs for every label and annotation map a batch writes.
    public mutating func value(_ labels: Labels) {
        bytes.append(UInt8(ascii: "{"))
        for (i, label) in labels.sorted(by: { $0.key < $1.key }).enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            string(label.key)
            bytes.append(UInt8(ascii: ":"))
            string(label.value)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// `EscalationState` as its `Codable` form writes it.
    public mutating func value(_ e: EscalationState) {
        object { w in
            w.field("step", e.step)
            w.field("episodeStart", e.episodeStart)
            w.field("cycle", e.cycle)
            if let at = e.tierPagedAt { w.field("tierPagedAt", rfc3339: at) }
            w.field("highestTier", e.highestTier)
            w.field("ended", e.ended)
            if let at = e.firstPagedAt { w.field("firstPagedAt", rfc3339: at) }
            if let at = e.firstAcknowledgedAt { w.field("firstAcknowledgedAt", rfc3339: at) }
            if let at = e.ackClockFrom { w.field("ackClockFrom", rfc3339: at) }
            w.field("ackSLABreached", e.ackSLABreached)
            w.field("resolveSLABreached", e.resolveSLABreached)
            if let at = e.heldUntil { w.field("silencedUntil", rfc3339: at) }
            if !e.inhibitedBy.isEmpty {
                w.key("inhibitedBy")
                w.bytes.append(contentsOf: "[\(e.inhibitedBy.map(String.init).joined(separator: ","))]".utf8)
            }
            if !e.earlierTiers.isEmpty {
                w.key("earlierTiers")
                w.list(e.earlierTiers) { w, tier in
                    w.field("tier", tier.tier)
                    w.field("name", tier.name)
                    w.key("notify")
                    w.list(tier.notify) { w, target in
                        w.field("connector", target.connector)
                        w.field("to", target.to)
                    }
                }
            }
            if let resolution = e.resolution { w.field("resolution", resolution.rawValue) }
            if let step = e.acknowledgedThrough { w.field("acknowledgedThrough", step) }
            if let at = e.resumedAt { w.field("resumedAt", rfc3339: at) }
            if let at = e.inhibitWaitFrom { w.field("inhibitWaitFrom", rfc3339: at) }
            if let recovery = e.recovery {
                w.key("recovery")
                w.object { w in
                    w.field("at", rfc3339: recovery.at)
                    w.field("by", recovery.by)
                    w.field("resolvesAt", rfc3339: recovery.resolvesAt)
                }
            }
        }
    }

    /// One JSON value as a string: a column of its own rather than a field of a row document.
    public static func text(_ body: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter(capacity: 256)
        body(&w)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    public mutating func key(_ name: StaticString) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: "\":".utf8)
    }

    private mutating func null() { bytes.append(contentsOf: "null".utf8) }

    private mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { string($0) }
    }

    private mutating func string(_ utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var copied = 0  // bytes of `utf8` already in `bytes`
        for (i, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            // Nearly every label, summary and key has nothing to escape: runs are copied whole.
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[copied..<i]))
            copied = i + 1
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [92, 92])
            default: bytes.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, Hex.digits[Int(byte >> 4)], Hex.digits[Int(byte & 15)]])
            }
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[copied...]))
        bytes.append(UInt8(ascii: "\""))
    }
}
