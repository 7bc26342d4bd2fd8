import Foundation
import Yams

/// Paths as the user wrote them, opened relative to a working directory.
struct ConfigFiles {
    let currentDirectory: String

    func location(of path: String) -> String {
        path.hasPrefix("/") ? path : ConfigFiles.join(currentDirectory, path)
    }

    func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: location(of: path), isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Whether the file starts as every SQLite database does, or is empty (SQLite makes
    /// an empty file a database).
    func isSQLiteOrEmpty(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: location(of: path)) else { return true }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 16)) ?? Data()
        return head.isEmpty || head == Data("SQLite format 3\u{0}".utf8)
    }

    /// A regular file, not a device (`/dev/null`) or a directory.
    func isRegularFile(_ path: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: location(of: path))[.type] as? FileAttributeType) == .typeRegular
    }

    func isFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: location(of: path), isDirectory: &isDirectory)
            && !isDirectory.boolValue
    }

    /// The `*.yaml` and `*.yml` files of a directory in name order, which is the order
    /// rules are evaluated in. Hidden files are skipped: editors leave swap and backup
    /// files there. Nil, with a problem unless `reportMissing` is false, when the
    /// directory is missing. What else is there is added to `skipped` (a subdirectory, a
    /// `10-cdn.yaml.bak`), for `check` to name: a rule file put in `rules/team/` was
    /// otherwise left out without a word.
    /// - Parameters:
    ///   - namedAt: the `rules:` or `policies:` value that named the directory, where
    ///     its problems go: `rulez:1:1` would point into a path that does not exist.
    ///   - whyHere: added to "does not exist": why the directory was looked for there, when
    ///     no server file says where it is.
    func yamlFiles(in directory: String, log: ProblemLog, skipped: inout [String], reportMissing: Bool = true,
                   namedAt: (file: YAMLFile, node: Node)? = nil, whyHere: String = "") -> [String]? {
        let named = namedAt == nil ? "" : " \"\(directory)\""
        func report(_ problem: String) {
            if let namedAt { namedAt.file.report(problem, at: namedAt.node) } else { log.add(directory, .start, problem) }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location(of: directory), isDirectory: &isDirectory) else {
            if reportMissing { report("the directory\(named) does not exist\(whyHere)") }
            return nil
        }
        guard isDirectory.boolValue else {
            report("expected a directory, found a file\(named)")
            return nil
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: location(of: directory))
        } catch {
            report("cannot list the directory\(named): \(error.localizedDescription)")
            return nil
        }
        let visible = names.filter { !$0.hasPrefix(".") }
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .map { (name: $0, path: ConfigFiles.join(directory, $0)) }
        var files: [String] = []
        for entry in visible {
            if self.isDirectory(entry.path) {
                skipped.append("\(entry.path)/ (a directory: only the .yaml and .yml files directly in \(directory)/ are read)")
            } else if ![".yaml", ".yml"].contains(where: { entry.name.lowercased().hasSuffix($0) }) {
                skipped.append("\(entry.path) (not a .yaml or .yml file)")
            } else if isFile(entry.path) {
                files.append(entry.path)
            }
        }
        return files
    }

    /// `path` under `base` unless it is absolute; no `./` is added, so problems show
    /// `rules/10-cdn.yaml` as the user would type it.
    static func join(_ base: String, _ path: String) -> String {
        guard !base.isEmpty, !path.hasPrefix("/") else { return path }
        return (base as NSString).appendingPathComponent(path)
    }
}
