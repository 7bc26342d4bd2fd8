import Foundation

/// A label matcher with Alertmanager semantics: `=`, `!=`, `=~`, `!~`.
///
/// Regexes are anchored at both ends (`^(?:re)$`) as in Alertmanager, and a label
/// that is absent matches as the empty string, so `severity != critical` holds for
/// an alert without a severity label.
public struct Matcher: Sendable, Equatable, CustomStringConvertible {
    public enum Operator: String, Sendable, CaseIterable {
        case equal = "=", notEqual = "!=", regexMatch = "=~", regexNoMatch = "!~"
    }

    public let name: String
    public let op: Operator
    public let value: String
    private let regex: AnchoredRegex?

    public init(name: String, op: Operator, value: String) throws(MatcherError) {
        guard Matcher.isValidLabelName(name) else { throw .invalidLabelName(name) }
        self.name = name
        self.op = op
        self.value = value
        switch op {
        case .equal, .notEqual: regex = nil
        case .regexMatch, .regexNoMatch: regex = try AnchoredRegex(value)
        }
    }

    /// Parses `alertname = PopDown`, `pop=~"ICN.*"`, `severity!="info"`.
    public init(parsing text: String) throws(MatcherError) {
        let scalars = Array(text.unicodeScalars)
        var i = 0
        func skipSpaces() { while i < scalars.count, scalars[i] == " " || scalars[i] == "\t" { i += 1 } }
        skipSpaces()
        let nameStart = i
        while i < scalars.count, Matcher.isNameScalar(scalars[i], first: i == nameStart) { i += 1 }
        let name = String(String.UnicodeScalarView(scalars[nameStart..<i]))
        guard !name.isEmpty else { throw .syntax(text, "expected a label name") }
        skipSpaces()
        var opText = ""
        while i < scalars.count, "=!~".unicodeScalars.contains(scalars[i]), opText.count < 2 {
            opText.unicodeScalars.append(scalars[i]); i += 1
        }
        guard let op = Operator(rawValue: opText) else {
            throw .syntax(text, "expected one of =, !=, =~, !~ after \(name)")
        }
        skipSpaces()
        var value = ""
        if i < scalars.count, scalars[i] == "\"" {
            i += 1
            var closed = false
            while i < scalars.count {
                let c = scalars[i]; i += 1
                if c == "\"" { closed = true; break }
                if c == "\\", i < scalars.count {
                    // Alertmanager's escapes: \n, \" and \\. Any other backslash is kept, so
                    // `pop =~ "ICN\d+"` is the regex ICN\d+, as in Alertmanager.
                    let e = scalars[i]; i += 1
                    switch e {
                    case "n": value += "\n"
                    case "\"", "\\": value.unicodeScalars.append(e)
                    default: value += "\\"; value.unicodeScalars.append(e)
                    }
                } else {
                    value.unicodeScalars.append(c)
                }
            }
            guard closed else { throw .syntax(text, "unterminated quoted value") }
            skipSpaces()
            guard i == scalars.count else { throw .syntax(text, "unexpected text after the quoted value") }
        } else {
            value = String(String.UnicodeScalarView(scalars[i...])).trimmingCharacters(in: .whitespaces)
        }
        try self.init(name: name, op: op, value: value)
    }

    public func matches(_ labels: Labels) -> Bool {
        let actual = labels[name] ?? ""
        switch op {
        case .equal: return actual == value
        case .notEqual: return actual != value
        case .regexMatch: return regex!.matches(actual)
        case .regexNoMatch: return !regex!.matches(actual)
        }
    }

    public var description: String { "\(name) \(op.rawValue) \(value)" }

    public static func == (lhs: Matcher, rhs: Matcher) -> Bool {
        lhs.name == rhs.name && lhs.op == rhs.op && lhs.value == rhs.value
    }

    /// `pop=ICN1`, a listing's filter (`alertbridge incidents --label`): a label name and
    /// the exact value, everything after the first `=`; `nil` when it is not that.
    public static func labelValue(parsing text: String) -> (name: String, value: String)? {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, isValidLabelName(String(parts[0])) else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    public static func isValidLabelName(_ name: String) -> Bool {
        guard !name.isEmpty else { return false }
        var first = true
        for s in name.unicodeScalars {
            guard isNameScalar(s, first: first) else { return false }
            first = false
        }
        return true
    }

    static func isNameScalar(_ s: Unicode.Scalar, first: Bool) -> Bool {
        switch s {
        case "a"..."z", "A"..."Z", "_": return true
        case "0"..."9": return !first
        default: return false
        }
    }
}

extension Array where Element == Matcher {
    /// All matchers hold (an empty list matches everything).
    public func matchAll(_ labels: Labels) -> Bool {
        allSatisfy { $0.matches(labels) }
    }
}

public enum MatcherError: Error, Equatable, CustomStringConvertible {
    case syntax(String, String)
    case invalidLabelName(String)
    case invalidRegex(String, String)

    public var description: String {
        switch self {
        case .syntax(let text, let why): "invalid matcher \"\(text)\": \(why)"
        case .invalidLabelName(let name): "invalid label name \"\(name)\""
        case .invalidRegex(let re, let why): "invalid regex \"\(re)\": \(why)"
        }
    }
}

/// A regex compiled once, anchored as Alertmanager anchors it.
struct AnchoredRegex: @unchecked Sendable {
    // NSRegularExpression is immutable after creation and documented thread-safe.
    private let compiled: NSRegularExpression
    /// Fast path for the patterns routing and inhibit rules are made of: alternatives that
    /// are each a literal or a literal followed by `.*` (`Edge.*|Origin.*|CacheHitRatioLow`).
    /// Matching those is a few string comparisons instead of an ICU regex run per alert.
    private let alternatives: [Alternative]?

    private enum Alternative {
        case literal(String)
        case prefix(String)
    }

    init(_ pattern: String) throws(MatcherError) {
        if Self.repeatsARepetition(pattern) {
            throw .invalidRegex(pattern, "a repeated group that itself repeats, such as (a+)+, can take seconds per label "
                + "value in this regex engine, and every alert waits for it; write it without the nested repetition")
        }
        do {
            // `\z`, not `$`: ICU's `$` also matches before a final line break, Go's does not.
            compiled = try NSRegularExpression(pattern: "^(?:\(pattern))\\z", options: [])
        } catch {
            // NSRegularExpression's error on Linux says only "the value is invalid"; Swift's
            // own regex parser says why (`expected ']'`) for the mistakes both refuse.
            var reason = "does not compile"
            do { _ = try Regex(pattern) } catch { reason = "\(error)" }
            throw .invalidRegex(pattern, reason)
        }
        alternatives = Self.alternatives(of: pattern)
    }

    /// Whether the pattern repeats (`*`, `+`, `{n,}`) a group that holds an unbounded
    /// repetition itself: `(a+)+`, `(x*y*)*`. ICU backtracks, and such a pattern takes
    /// exponential time on a value that almost matches: a silence `service =~ "(a+)+b"`
    /// held every sender's alerts for 0.8 s each (black-box round 24). Alertmanager's RE2
    /// does not backtrack; refusing these is what keeps ours linear in practice.
    static func repeatsARepetition(_ pattern: String) -> Bool {
        let p = Array(pattern.unicodeScalars)
        var groups: [Bool] = [false]  // per open group: holds an unbounded repetition
        var i = 0
        func unboundedQuantifier(at j: Int) -> Bool {
            guard j < p.count else { return false }
            if p[j] == "*" || p[j] == "+" { return true }
            guard p[j] == "{" else { return false }
            var k = j + 1
            while k < p.count, p[k].properties.numericType != nil { k += 1 }
            return k + 1 < p.count && p[k] == "," && p[k + 1] == "}"
        }
        while i < p.count {
            switch p[i] {
            case "\\":
                i += 1
            case "[":
                // A class is one atom: skip to its closing bracket (a `]` first is a literal).
                i += 1
                if i < p.count, p[i] == "^" { i += 1 }
                if i < p.count, p[i] == "]" { i += 1 }
                while i < p.count, p[i] != "]" { if p[i] == "\\" { i += 1 }; i += 1 }
            case "(":
                groups.append(false)
            case ")" where groups.count > 1:
                let inner = groups.removeLast()
                if inner, unboundedQuantifier(at: i + 1) { return true }
                if inner || unboundedQuantifier(at: i + 1) { groups[groups.count - 1] = true }
            default:
                if unboundedQuantifier(at: i) { groups[groups.count - 1] = true }
            }
            i += 1
        }
        return false
    }

    /// The fast path compares code points, as the regex engine does (`Character`s would
    /// let "e" + U+0301 equal "é" and refuse "e" as its prefix), and costs no grapheme
    /// breaking: every alert runs the inhibit rules' targets.
    func matches(_ value: String) -> Bool {
        if let alternatives {
            return alternatives.contains { alternative in
                switch alternative {
                case .literal(let text):
                    return value.utf8.elementsEqual(text.utf8)
                case .prefix(let text):
                    guard value.utf8.starts(with: text.utf8) else { return false }
                    // `.` matches anything but a line terminator (ICU's set).
                    let rest = value.utf8.index(value.startIndex, offsetBy: text.utf8.count)
                    return !value.unicodeScalars[rest...].contains(where: Self.isLineTerminator)
                }
            }
        }
        let range = NSRange(value.startIndex..., in: value)
        return compiled.firstMatch(in: value, options: [], range: range) != nil
    }

    /// What ICU's `.` does not match: LF, VT, FF, CR, NEL, LINE and PARAGRAPH SEPARATOR.
    static func isLineTerminator(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A...0x0D, 0x85, 0x2028, 0x2029: true
        default: false
        }
    }

    /// The pattern as literal and prefix alternatives, or `nil` when it needs the regex engine.
    private static func alternatives(of pattern: String) -> [Alternative]? {
        let meta = Set("\\^$.|?*+()[]{}".unicodeScalars)
        var out: [Alternative] = []
        for part in pattern.split(separator: "|", omittingEmptySubsequences: false) {
            var text = Substring(part)
            let isPrefix = text.hasSuffix(".*")
            if isPrefix { text = text.dropLast(2) }
            guard !text.unicodeScalars.contains(where: meta.contains) else { return nil }
            out.append(isPrefix ? .prefix(String(text)) : .literal(String(text)))
        }
        return out
    }
}
