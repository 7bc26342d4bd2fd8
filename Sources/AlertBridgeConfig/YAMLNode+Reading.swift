import Foundation
import AlertBridgeCore
import Yams

/// The entries of one mapping whose keys were checked against the keys it may hold.
struct Fields {
    let node: Node
    fileprivate let entries: [String: (key: Node, value: Node)]

    subscript(key: String) -> Node? { entries[key]?.value }
}

/// Typed reads that report a problem at the offending node and return nil, so a parser
/// keeps going and the user sees every problem of a file at once.
extension YAMLFile {
    /// An unknown key is an error, not ignored: a typo such as `escalate_afer` would
    /// otherwise silently fall back to a default.
    /// - Parameter misplaced: keys that belong elsewhere, with where (`wait` → `under
    ///   inhibit:`): said beside the unknown key.
    func fields(_ node: Node, allowed: [String], required: [String] = [],
                expected: String = "a mapping", misplaced: [String: String] = [:]) -> Fields? {
        guard case .mapping(let mapping) = node else {
            report("expected \(expected), found \(node.found)", at: node)
            return nil
        }
        var entries: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key, !key.isNull else {
                report("expected a string key, found \(key.found)", at: key)
                continue
            }
            guard allowed.contains(scalar.string) else {
                let expected = allowed.joined(separator: ", ")
                // A YAML merge key (`<<: *tier`) is read as a key of its own here.
                let merge = scalar.string == "<<" ? "; YAML merge keys (<<: *anchor) are not supported, write the keys out" : ""
                let place = misplaced[scalar.string].map { "; \(scalar.string) goes \($0)" } ?? ""
                report("unknown key \"\(scalar.string)\" (expected one of: \(expected))\(merge)\(place)", at: key)
                continue
            }
            entries[scalar.string] = (key, value)
        }
        for name in required where entries[name] == nil {
            report("missing required key \"\(name)\"", at: node)
        }
        return Fields(node: node, entries: entries)
    }

    /// A mapping whose keys the user names (connectors, severity → policy), in file order.
    func namedEntries(_ node: Node) -> [(name: String, key: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            report("expected a mapping, found \(node.found)", at: node)
            return nil
        }
        var out: [(name: String, key: Node, value: Node)] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key, !key.isNull, !scalar.string.isEmpty else {
                report("expected a name, found \(key.found)", at: key)
                continue
            }
            out.append((scalar.string, key, value))
        }
        return out
    }

    /// Any non-null scalar: YAML reads `404` or `yes` as numbers and booleans, but as a
    /// name or address the user meant the text.
    func string(_ node: Node?) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, !node.isNull else {
            // `key: {{pop}}` is a mapping whose one key is the mapping `{pop: null}`.
            if case .mapping(let mapping) = node, mapping.count == 1, case .mapping = mapping.first?.key {
                report("expected a string, found a mapping: \(YAMLFile.unquotedTemplate)", at: node)
            } else {
                report("expected a string, found \(node.found)", at: node)
            }
            return nil
        }
        guard let environment else { return scalar.string }
        let (expanded, failures) = EnvironmentSubstitution.expand(scalar.string, environment: environment)
        for failure in failures { report(failure.message, at: node) }
        return failures.isEmpty ? expanded : nil
    }

    /// A string that identifies something (a rule, a tier), so it must not be blank.
    func name(_ node: Node?) -> String? {
        guard let node, let text = string(node) else { return nil }
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            report("expected a non-empty name", at: node)
            return nil
        }
        return text
    }

    func int(_ node: Node?) -> Int? {
        guard let node else { return nil }
        guard let value = node.int, node.tag.description == Tag.Name.int.rawValue else {
            report("expected an integer, found \(node.found)", at: node)
            return nil
        }
        return value
    }

    func bool(_ node: Node?) -> Bool? {
        guard let node else { return nil }
        guard let value = node.bool else {
            report("expected true or false, found \(node.found)", at: node)
            return nil
        }
        return value
    }

    func list(_ node: Node?) -> [Node]? {
        guard let node else { return nil }
        guard case .sequence(let sequence) = node else {
            report("expected a list, found \(node.found)", at: node)
            return nil
        }
        return Array(sequence)
    }

    /// One of a fixed set of words, such as a severity.
    func choice<T: RawRepresentable & CaseIterable>(_ node: Node?, _ what: String) -> T?
    where T.RawValue == String {
        choice(node, what, among: Array(T.allCases))
    }

    func choice<T: RawRepresentable>(_ node: Node?, _ what: String, among cases: [T]) -> T?
    where T.RawValue == String {
        guard let node, let text = string(node) else { return nil }
        guard let value = T(rawValue: text) else {
            let expected = cases.map(\.rawValue).joined(separator: ", ")
            report("unknown \(what) \"\(text)\" (expected one of: \(expected))", at: node)
            return nil
        }
        return value
    }

    /// Every duration in these files is a timer, and a timer of zero or less would fire
    /// at once or never, so only positive durations are accepted; and none under a second,
    /// which is a typo for minutes (`escalate_after: 10ms` paged every tier at once).
    /// - Parameters:
    ///   - what: what the problem calls the value (`max_age`), where its key is not
    ///     otherwise said.
    ///   - limit: a cap stricter than ``DurationText/longest``, and why (an inhibit `wait`
    ///     of minutes is a missed page).
    func duration(_ node: Node?, what: String = "duration", atMost limit: (longest: Duration, why: String)? = nil) -> Duration? {
        guard let node, let text = string(node) else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("-") {
            report("\(what) \"\(text)\" is negative; it must be greater than zero", at: node)
            return nil
        }
        guard let duration = DurationText.parse(trimmed) else {
            // `escalate_after: 15`: seconds to one reader, minutes to another, so neither is
            // assumed; the problem offers both.
            if !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCII && $0.isNumber }) {
                report("invalid \(what) \"\(text)\": a number needs a unit (\(trimmed)s, \(trimmed)m or \(trimmed)h)", at: node)
            } else {
                report("invalid \(what) \"\(text)\" (expected a number and a unit, e.g. 30s, 10m, 1h30m, 7d)", at: node)
            }
            return nil
        }
        guard duration > .zero else {
            report("\(what) \"\(text)\" must be greater than zero", at: node)
            return nil
        }
        guard duration >= .seconds(1) else {
            let meant = DurationText.meant(trimmed).map { " (did you mean \"\($0)\"?)" } ?? ""
            report("\(what) \"\(text)\" is under a second, the shortest timer alertbridge accepts\(meant)", at: node)
            return nil
        }
        let longest = limit?.longest ?? DurationText.longest
        guard duration <= longest else {
            let why = limit.map { ": \($0.why)" } ?? ", the longest timer alertbridge accepts"
            report("\(what) \"\(text)\" is longer than \(DurationText.format(longest))\(why)", at: node)
            return nil
        }
        return duration
    }
}
