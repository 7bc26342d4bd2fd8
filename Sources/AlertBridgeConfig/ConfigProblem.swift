/// One thing wrong in a configuration file, at the position an editor can jump to.
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path as the user would recognise it: as given, or as found in a directory.
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// The `path:line:col: message` form that editors and CI annotators recognise.
    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// Every problem found in one load, so a user fixes them all in one round trip
/// instead of one per `alertbridge check`.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(problems: [ConfigProblem]) {
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Collects problems across the files of one load.
///
/// A class because every reader of every file appends to the same list; it never
/// leaves the loading call, so it needs no synchronisation.
final class ProblemLog {
    private var entries: [ConfigProblem] = []

    var isEmpty: Bool { entries.isEmpty }

    func add(_ file: String, _ position: Position, _ message: String) {
        entries.append(ConfigProblem(file: file, line: position.line, column: position.column, message: message))
    }

    /// Problems grouped by file in the order files were first reported, each file's in
    /// line order, because cross-checks (a missing policy, an overlap) are found after
    /// the lines that follow them.
    var sorted: [ConfigProblem] {
        var fileRank: [String: Int] = [:]
        for problem in entries where fileRank[problem.file] == nil {
            fileRank[problem.file] = fileRank.count
        }
        return entries.enumerated().sorted { a, b in
            let (x, y) = (a.element, b.element)
            let keyX = (fileRank[x.file]!, x.line, x.column, a.offset)
            let keyY = (fileRank[y.file]!, y.line, y.column, b.offset)
            return keyX < keyY
        }.map(\.element)
    }
}
