import AlertBridgeCore
import Foundation

/// Everything `serve` needs, validated as a whole.
public struct LoadedConfig: Sendable, Equatable {
    public var server: ServerConfig
    public var rules: RuleSet
    public var policies: [String: EscalationPolicy]
    /// One line for `alertbridge check`.
    public var summary: String

    public init(server: ServerConfig, rules: RuleSet, policies: [String: EscalationPolicy], summary: String) {
        self.server = server
        self.rules = rules
        self.policies = policies
        self.summary = summary
    }
}

public enum ConfigLoader: Sendable {
    /// Used when no file is named, if it exists in the current directory.
    public static let defaultConfigFile = "alertbridge.yaml"

    /// Rules name policies and policies name connectors, so all three are loaded and
    /// cross-checked together: a dangling name is found by `check`, not by the first page.
    ///
    /// `configFile` nil → `./alertbridge.yaml` if it exists, else defaults. Rule and policy
    /// directories are relative to the server file's directory (or the current directory).
    /// Throws every problem found, not only the first.
    /// - Parameter overrides: what `serve --listen`/`--store` set instead of the file: the
    ///   file's value is then neither checked nor used.
    public static func load(
        configFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        overrides: Overrides = Overrides()
    ) throws(ConfigError) -> LoadedConfig {
        try load(configFile: configFile, environment: environment,
                 currentDirectory: FileManager.default.currentDirectoryPath, overrides: overrides)
    }

    /// The `serve` flags that replace a server-file setting.
    public struct Overrides: Sendable {
        public var listen: Bool
        public var store: Bool

        public init(listen: Bool = false, store: Bool = false) {
            self.listen = listen
            self.store = store
        }
    }

    /// `currentDirectory` lets tests resolve relative paths without `chdir`, which would
    /// race with other tests running in the same process.
    static func load(
        configFile: String?, environment: [String: String], currentDirectory: String, overrides: Overrides = Overrides()
    ) throws(ConfigError) -> LoadedConfig {
        let files = ConfigFiles(currentDirectory: currentDirectory)
        let serverLog = ProblemLog(), rulesLog = ProblemLog(), policiesLog = ProblemLog()

        let configPath = configFile ?? (files.isFile(defaultConfigFile) ? defaultConfigFile : nil)
        var server = ServerConfigParser.Output()
        // A server file that does not parse may have moved the directories elsewhere.
        var directoriesKnown = true
        let base = configPath.map { ($0 as NSString).deletingLastPathComponent } ?? ""
        if let configPath {
            let file = YAMLFile(path: configPath, log: serverLog, environment: environment)
            // Directories are relative to a missing file, so nothing else can be checked.
            guard files.isFile(configPath) else {
                file.report(files.isDirectory(configPath)
                            ? "is a directory; pass the server file in it (--config \((configPath as NSString).appendingPathComponent("alertbridge.yaml")))"
                            : "the file does not exist", at: .start)
                throw ConfigError(problems: serverLog.sorted)
            }
            switch file.read(from: files.location(of: configPath)) {
            case .node(let root):
                server = ServerConfigParser(file: file, directory: base, files: files, overrides: overrides).parse(root)
            case .empty: break
            case .failed:
                server.declaredConnectors = nil
                directoriesKnown = false
            }
        }
        // The binary started outside the repository, with no server file: its first words
        // must say where it looked and how to point it elsewhere.
        let noServerFile = " in \(currentDirectory) (with no \(defaultConfigFile) there, rules/ and "
            + "escalation-policies/ are read from the current directory: run where they are, or pass --config FILE)"
        // A server file that names no directory (an empty one, say): the default is read
        // beside it, and the message says where (black-box round 23: `rules:1:1` alone).
        func whyHere(_ key: String, named: Bool) -> String {
            guard let configPath else { return noServerFile }
            guard !named else { return "" }
            return " in \(base.isEmpty ? currentDirectory : files.location(of: base)) (\(configPath) sets no \(key):, so the default beside it is read)"
        }
        server.config.rulesDirectory = ConfigFiles.join(base, server.config.rulesDirectory)
        server.config.policiesDirectory = ConfigFiles.join(base, server.config.policiesDirectory)

        var policyParser = PolicyParser(connectors: server.declaredConnectors,
                                        serverFile: configPath ?? defaultConfigFile)
        var skipped: [String] = []
        let policyFiles = files.yamlFiles(in: server.config.policiesDirectory, log: policiesLog, skipped: &skipped,
                                          reportMissing: directoriesKnown, namedAt: server.policiesNamedAt,
                                          whyHere: whyHere("policies", named: server.policiesNamedAt != nil))
        var unreadPolicyFiles = 0
        for path in policyFiles ?? [] {
            let file = YAMLFile(path: path, log: policiesLog, environment: nil)
            switch file.read(from: files.location(of: path)) {
            case .node(let root): policyParser.parse(root, in: file)
            case .empty: file.report("the file is empty; expected one policy", at: .start)
            case .failed: unreadPolicyFiles += 1
            }
        }
        let policyNamesKnown = policyFiles != nil && unreadPolicyFiles == 0 && policyParser.unnamedFiles == 0

        var ruleParser = RuleParser(policyNames: policyNamesKnown ? policyParser.declaredNames : nil,
                                    policiesDirectory: server.config.policiesDirectory)
        let ruleFiles = files.yamlFiles(in: server.config.rulesDirectory, log: rulesLog, skipped: &skipped,
                                        reportMissing: directoriesKnown, namedAt: server.rulesNamedAt,
                                        whyHere: whyHere("rules", named: server.rulesNamedAt != nil))
        for path in ruleFiles ?? [] {
            let file = YAMLFile(path: path, log: rulesLog, environment: nil)
            if case .node(let root) = file.read(from: files.location(of: path)) {
                ruleParser.parse(root, in: file)
            }
        }
        ruleParser.reportUnreachableRules()
        // A resolved incident its key could still reopen must not be deleted first.
        if let retention = server.config.retention, let at = server.retentionAt,
           let rule = ruleParser.rules.max(by: { $0.reopenWithin < $1.reopenWithin }), rule.reopenWithin >= retention {
            at.file.report("retention \"\(at.file.string(at.node) ?? DurationText.format(retention))\" is not longer than rule \(rule.name)'s reopen_within "
                           + "(\(DurationText.format(rule.reopenWithin))): an incident it would reopen could be deleted first", at: at.node)
        }
        // With no rule, every alert goes to the fallback policy; without one, every alert
        // would become an incident that pages nobody.
        if ruleParser.rules.isEmpty, ruleFiles != nil, rulesLog.isEmpty, policyNamesKnown,
           !policyParser.declaredNames.contains(RuleSet.fallbackPolicy) {
            let problem = """
                no rule is loaded, so every alert would go to the policy "\(RuleSet.fallbackPolicy)", and there is \
                none: add a rule (one with no match: catches everything) or a policy named \(RuleSet.fallbackPolicy)
                """
            // At the `rules:` that named the directory: `rules:1:1` points into a directory.
            if let named = server.rulesNamedAt {
                named.file.report(problem, at: named.node)
            } else {
                rulesLog.add(server.config.rulesDirectory, .start, problem)
            }
        }

        let problems = serverLog.sorted + rulesLog.sorted + policiesLog.sorted
        guard problems.isEmpty else { throw ConfigError(problems: problems) }

        let summary = "ok: \(configPath ?? "no \(defaultConfigFile), defaults"), "
            + "\(counted(ruleParser.rules.count, "rule")) in \(counted(ruleFiles?.count ?? 0, "file")), "
            + "\(counted(policyParser.policies.count, "policy", "policies")), "
            + "\(counted(server.config.connectors.count, "connector"))"
            + (server.config.heartbeats.isEmpty ? "" : ", \(counted(server.config.heartbeats.count, "heartbeat"))")
            + (server.config.retention.map { ", retention \(DurationText.format($0))" } ?? "")
            + (skipped.isEmpty ? "" : "; not read: " + skipped.joined(separator: ", "))
        return LoadedConfig(server: server.config, rules: RuleSet(rules: ruleParser.rules),
                            policies: policyParser.policies, summary: summary)
    }
}
