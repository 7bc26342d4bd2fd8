@testable import AlertBridgeConfig
import Foundation
import Testing

/// A temporary directory of configuration files, loaded as if it were the current
/// directory, so that problems show the relative paths a user would see.
final class Fixture {
    let directory: String

    /// A valid minimal setup: one policy `standard` on the console, one catch-all rule, in a
    /// file named to come after the rules a test adds (`rules/20-test.yaml`), as a catch-all must.
    static let baseFiles: [String: String] = [
        "escalation-policies/standard.yaml": """
            name: standard
            tiers:
              - name: first
                notify: [{connector: console}]
                escalate_after: 5m
            """,
        "rules/90-base.yaml": """
            rules:
              - name: catch-all
                policy: standard
            """,
    ]

    /// A policy named `default`, which takes every alert when no rule is loaded.
    static let defaultPolicy = """
        name: default
        tiers:
          - name: first
            notify: [{connector: console}]
            escalate_after: 5m
        """

    /// `files` are added to (or replace) `baseFiles`; a nil content removes a base file.
    init(_ files: [String: String?] = [:], base: Bool = true) throws {
        directory = NSTemporaryDirectory() + "alertbridge-config-tests-" + UUID().uuidString
        var all: [String: String?] = base ? Self.baseFiles : [:]
        all.merge(files) { _, new in new }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (path, text) in all {
            guard let text else { continue }
            let url = URL(fileURLWithPath: directory).appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func load(configFile: String? = nil, environment: [String: String] = [:]) throws(ConfigError) -> LoadedConfig {
        try ConfigLoader.load(configFile: configFile, environment: environment, currentDirectory: directory)
    }

    /// The problems of a load that is expected to fail; an empty list if it succeeded.
    func problems(configFile: String? = nil, environment: [String: String] = [:]) -> [String] {
        do throws(ConfigError) {
            _ = try load(configFile: configFile, environment: environment)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }
}

/// Expects exactly one problem, at `location` (`file:line:col`), whose message contains
/// `text`: one, because a mistake reported several times (a cascade) is noise too.
func expectSingleProblem(_ problems: [String], at location: String, containing text: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(problems.count == 1, "expected one problem, got \(problems)", sourceLocation: sourceLocation)
    expectProblem(problems, at: location, containing: text, sourceLocation: sourceLocation)
}

func expectProblem(_ problems: [String], at location: String, containing text: String,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    let found = problems.contains { $0.hasPrefix(location + ": ") && $0.contains(text) }
    #expect(found, "no problem \"\(location): …\(text)…\" in \(problems)", sourceLocation: sourceLocation)
}
