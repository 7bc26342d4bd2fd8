import Foundation
import Yams

/// A 1-based line and column. Yams' `Mark` cannot be created outside Yams, and some
/// problems (a missing directory, an unreadable file) have no node to point at.
struct Position: Hashable {
    var line: Int
    var column: Int

    static let start = Position(line: 1, column: 1)
}

/// One YAML file being read: where its problems go and how its strings are expanded.
struct YAMLFile {
    /// The path shown in problems, as the user wrote or listed it.
    let path: String
    let log: ProblemLog
    /// Set only for the server file: secrets belong there, while `$` in rule regexes
    /// and templates must stay literal.
    let environment: [String: String]?

    enum Document {
        case node(Node)
        /// No content, or only comments.
        case empty
        /// Already reported.
        case failed
    }

    func report(_ message: String, at node: Node) {
        log.add(path, node.position, message)
    }

    /// `path:line:col` of a node, as a problem names where a duplicate was first defined.
    func place(of node: Node) -> String {
        "\(path):\(node.position.line):\(node.position.column)"
    }

    func report(_ message: String, at position: Position) {
        log.add(path, position, message)
    }

    /// Reads and composes the file at `location`; syntax errors become positioned problems.
    func read(from location: String) -> Document {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: location))
        } catch {
            report("cannot read the file: \(error.localizedDescription)", at: .start)
            return .failed
        }
        guard let text = String(data: data, encoding: .utf8) else {
            report("the file is not valid UTF-8", at: .start)
            return .failed
        }
        do {
            guard let node = try Yams.compose(yaml: text) else { return .empty }
            if node.isNull { return .empty }
            return .node(node)
        } catch let error as YamlError {
            if case .duplicatedKeysInMapping = error, let (repeats, tree) = Self.repeatedKeys(in: text), !repeats.isEmpty {
                for (key, first, position) in repeats {
                    report("duplicate key \"\(key)\" in one mapping (first at line \(first.line))", at: position)
                }
                // The rest of the file is checked all the same, as its last occurrences say
                // (`check` prints every problem; a repeated key hid all the others).
                return .node(tree)
            }
            let (position, message) = Self.describe(error, in: text)
            report(message, at: position)
            return .failed
        } catch {
            report("cannot parse YAML: \(error)", at: .start)
            return .failed
        }
    }

    /// What libyaml's commonest complaints usually mean in a hand-written file: its words
    /// say what the parser saw, not what to change (black-box round 21).
    static let hints: [(problem: String, hint: String)] = [
        ("mapping values are not allowed", "usually a key indented more or less than the keys beside it, "
            + "or a value holding \": \" that needs quotes"),
        ("did not find expected '-' indicator", "usually a line indented differently from the list items beside it"),
        ("did not find expected key", "usually a line indented differently from the keys beside it"),
        ("but found another document", "a file holds one document: remove the second '---' (or put it in a file of its own)"),
    ]

    static let unquotedTemplate = #"a value starting with "{{" needs quotes ("{{alertname}}/{{pop}}"): YAML reads "{" as the start of a mapping"#

    /// Yams' own descriptions span several lines with a snippet; problems are one line each.
    static func describe(_ error: YamlError, in text: String) -> (Position, String) {
        func located(_ context: YamlError.Context?, _ problem: String, _ mark: Mark) -> (Position, String) {
            let position = Position(line: mark.line, column: mark.column)
            // libyaml's "found character that cannot start any token" does not say which.
            if let index = index(of: position, in: text), text.unicodeScalars[index] == "\t" {
                return (position, "a tab character: YAML indents with spaces, not tabs")
            }
            var message = "YAML syntax error: \(problem)"
            if let context {
                message += " (\(context.text) at \(context.mark.line):\(context.mark.column))"
            }
            // An unquoted `{{…}}` template reads as a flow mapping, and libyaml then speaks of
            // keys and indentation (black-box round 23).
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let from = max(1, min(context?.mark.line ?? mark.line, mark.line)), to = min(mark.line, lines.count)
            if from <= to, lines[(from - 1)..<to].contains(where: { $0.contains(": {{") || $0.contains("- {{") }) {
                message += ": \(unquotedTemplate)"
            } else if let hint = hints.first(where: { problem.hasPrefix($0.problem) })?.hint {
                message += ": \(hint)"
            }
            return (position, message)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return located(context, problem, mark)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return (Position(line: context.mark.line, column: context.mark.column),
                    "duplicate key \(keys) in one mapping")
        case .reader(let problem, let offset, _, _):
            return (offset.map { position(ofCharacterOffset: $0, in: text) } ?? .start,
                    "cannot read YAML: \(problem)")
        default:
            return (.start, "cannot parse YAML: \(error)")
        }
    }

    private typealias RepeatedKey = (key: String, first: Position, at: Position)

    /// Each key that repeats an earlier key of its mapping, at the repeat. Yams names a
    /// mapping's repeated keys only at the first occurrence of one of them, so that
    /// occurrence is renamed (its first character, so no position moves) and the text
    /// composed again until it composes; the tree then holds every key at its own position.
    /// Also returns the tree without the renamed occurrences: each mapping as its last
    /// occurrences of a key say. Nil when a renamed text does not compose (an empty quoted
    /// key, a key that is a mapping).
    private static func repeatedKeys(in text: String) -> ([RepeatedKey], Node)? {
        var text = text
        var renamed: [Position: String] = [:]
        while true {
            do {
                guard let root = try Yams.compose(yaml: text) else { return nil }
                return (repeatedKeys(in: root, renamed: renamed), dropping(renamed, from: root))
            } catch YamlError.duplicatedKeysInMapping(let keys, let context) {
                let position = Position(line: context.mark.line, column: context.mark.column)
                // A private-use character, another for each rename: no key a user writes
                // starts with one, and two renamed occurrences of a key stay apart.
                guard renamed[position] == nil, let key = keys.first,
                      let mark = Unicode.Scalar(0xE000 + UInt32(renamed.count)),
                      var index = index(of: position, in: text) else { return nil }
                if ["\"", "'"].contains(text.unicodeScalars[index]) { index = text.unicodeScalars.index(after: index) }
                guard index < text.unicodeScalars.endIndex else { return nil }
                text.unicodeScalars.replaceSubrange(index...index, with: [mark])
                renamed[position] = key
            } catch {
                return nil
            }
        }
    }

    private static func repeatedKeys(in node: Node, renamed: [Position: String]) -> [RepeatedKey] {
        switch node {
        case .mapping(let mapping):
            var first: [String: Position] = [:]
            var out: [RepeatedKey] = []
            for (key, value) in mapping {
                out += repeatedKeys(in: value, renamed: renamed)
                guard let name = renamed[key.position] ?? key.string else { continue }
                if let earlier = first[name] {
                    out.append((name, earlier, key.position))
                } else {
                    first[name] = key.position
                }
            }
            return out
        case .sequence(let sequence):
            return sequence.flatMap { repeatedKeys(in: $0, renamed: renamed) }
        case .scalar, .alias:
            return []
        }
    }

    /// `node` without the mapping keys renamed at `renamed`, which a later key repeats.
    private static func dropping(_ renamed: [Position: String], from node: Node) -> Node {
        switch node {
        case .mapping(let mapping):
            let pairs = mapping.filter { renamed[$0.key.position] == nil }.map { ($0.key, dropping(renamed, from: $0.value)) }
            return .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark, mapping.anchor))
        case .sequence(let sequence):
            return .sequence(Node.Sequence(sequence.map { dropping(renamed, from: $0) }, sequence.tag, sequence.style,
                                           sequence.mark, sequence.anchor))
        case .scalar, .alias:
            return node
        }
    }

    /// The scalar at a libyaml mark: columns count Unicode scalars, and a line ends at
    /// \n, \r\n, \r, NEL, LS or PS.
    private static func index(of position: Position, in text: String) -> String.UnicodeScalarView.Index? {
        let scalars = text.unicodeScalars
        var current = Position.start
        var index = scalars.startIndex
        while index < scalars.endIndex, current != position {
            let scalar = scalars[index]
            index = scalars.index(after: index)
            if scalar == "\r", index < scalars.endIndex, scalars[index] == "\n" { continue }
            if ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"].contains(scalar) {
                current.line += 1
                current.column = 1
            } else {
                current.column += 1
            }
        }
        return current == position && index < scalars.endIndex ? index : nil
    }

    private static func position(ofCharacterOffset offset: Int, in text: String) -> Position {
        var position = Position.start
        for character in text.prefix(offset) {
            if character.isNewline {
                position.line += 1
                position.column = 1
            } else {
                position.column += character.unicodeScalars.count
            }
        }
        return position
    }
}

extension Node {
    var position: Position {
        mark.map { Position(line: $0.line, column: $0.column) } ?? .start
    }

    var isNull: Bool {
        if case .scalar = self { return null != nil }
        return false
    }

    /// How a wrong value is named in "expected …, found …".
    var found: String {
        switch self {
        case .scalar(let scalar): isNull ? "nothing" : "\"\(scalar.string)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}
