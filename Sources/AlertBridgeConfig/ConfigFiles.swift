import Foundation

/// Paths as the user wrote them, opened relative to a working directory.
struct ConfigFiles {
    let currentDirectory: String

    func location(of path: String) -> String {
        path.hasPrefix("/") ? path : ConfigFiles.join(currentDirectory, path)
    }

    func isFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: location(of: path), isDirectory: &isDirectory)
            && !isDirectory.boolValue
    }

    /// The `*.yaml` and `*.yml` files of a directory in name order, which is the order
    /// rules are evaluated in. Hidden files are skipped: editors leave swap and backup
    /// files there. Nil, with a problem unless `reportMissing` is false, when the
    /// directory is missing.
    func yamlFiles(in directory: String, log: ProblemLog, reportMissing: Bool = true) -> [String]? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location(of: directory), isDirectory: &isDirectory) else {
            if reportMissing { log.add(directory, .start, "the directory does not exist") }
            return nil
        }
        guard isDirectory.boolValue else {
            log.add(directory, .start, "expected a directory, found a file")
            return nil
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: location(of: directory))
        } catch {
            log.add(directory, .start, "cannot list the directory: \(error.localizedDescription)")
            return nil
        }
        return names
            .filter { !$0.hasPrefix(".") && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) }
            .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .map { ConfigFiles.join(directory, $0) }
            .filter(isFile)
    }

    /// `path` under `base` unless it is absolute; no `./` is added, so problems show
    /// `rules/10-cdn.yaml` as the user would type it.
    static func join(_ base: String, _ path: String) -> String {
        guard !base.isEmpty, !path.hasPrefix("/") else { return path }
        return (base as NSString).appendingPathComponent(path)
    }
}
