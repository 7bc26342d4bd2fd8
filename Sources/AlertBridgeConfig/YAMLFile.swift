import Foundation
import Yams

/// A 1-based line and column. Yams' `Mark` cannot be created outside Yams, and some
/// problems (a missing directory, an unreadable file) have no node to point at.
struct Position: Equatable {
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
            let (position, message) = Self.describe(error, in: text)
            report(message, at: position)
            return .failed
        } catch {
            report("cannot parse YAML: \(error)", at: .start)
            return .failed
        }
    }

    /// Yams' own descriptions span several lines with a snippet; problems are one line each.
    static func describe(_ error: YamlError, in text: String) -> (Position, String) {
        func located(_ context: YamlError.Context?, _ problem: String, _ mark: Mark) -> (Position, String) {
            var message = "YAML syntax error: \(problem)"
            if let context {
                message += " (\(context.text) at \(context.mark.line):\(context.mark.column))"
            }
            return (Position(line: mark.line, column: mark.column), message)
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
