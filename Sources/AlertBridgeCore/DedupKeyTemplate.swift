/// A dedup key template such as `{{alertname}}/{{pop}}/{{service}}`.
///
/// Parsed once at load time into literal and label parts, so rendering on the ingest
/// path is a few string appends. A missing label renders as the empty string.
public struct DedupKeyTemplate: Sendable, Equatable, CustomStringConvertible {
    enum Part: Sendable, Equatable {
        case literal(String)
        case label(String)
    }

    let parts: [Part]
    public let description: String

    public init(parsing text: String) throws(TemplateError) {
        var parts: [Part] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            guard let open = rest.range(of: "{{") else {
                parts.append(.literal(String(rest)))
                break
            }
            if open.lowerBound > rest.startIndex {
                parts.append(.literal(String(rest[..<open.lowerBound])))
            }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw .unclosed(text)
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingSpaces()
            guard Matcher.isValidLabelName(name) else { throw .badLabel(text, name) }
            parts.append(.label(name))
            rest = rest[close.upperBound...]
        }
        guard parts.contains(where: { if case .label = $0 { true } else { false } }) else {
            throw .noLabels(text)
        }
        self.parts = parts
        self.description = text
    }

    /// The longest key a template renders. Label values may be 1 KiB each, and PostgreSQL
    /// refuses an index entry over about 2.7 KB, which would fail the whole batch.
    public static let maxRenderedBytes = 512

    /// The key for these labels. One longer than ``maxRenderedBytes`` keeps its start and
    /// ends in `#` and the FNV-1a of the whole key, so distinct keys stay distinct.
    public func render(_ labels: Labels) -> String {
        var missing: [String] = []
        return render(labels, missing: &missing)
    }

    /// The key, and in `missing` the labels it names that `labels` lacks or has empty (as
    /// Prometheus, which treats an empty label as absent): each renders empty, so every
    /// alert without it shares one incident. One pass: routing asks both of every alert.
    public func render(_ labels: Labels, missing: inout [String]) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let s): out += s
            case .label(let name):
                if let value = labels[name], !value.isEmpty {
                    out += value
                } else if !missing.contains(name) {
                    missing.append(name)
                }
            }
        }
        guard out.utf8.count > Self.maxRenderedBytes else { return out }
        let suffix = "#" + Fingerprint.of(text: out)
        return out.prefix(utf8Bytes: Self.maxRenderedBytes - suffix.utf8.count) + suffix
    }
}

public enum TemplateError: Error, Equatable, CustomStringConvertible {
    case unclosed(String)
    case badLabel(String, String)
    case noLabels(String)

    public var description: String {
        switch self {
        case .unclosed(let t): "dedup key template \"\(t)\" has an unclosed {{"
        case .badLabel(let t, let n): "dedup key template \"\(t)\" names an invalid label \"\(n)\""
        case .noLabels(let t): "dedup key template \"\(t)\" uses no label, so every alert would share one incident"
        }
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
