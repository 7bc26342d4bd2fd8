import AlertBridgeCore
import Foundation
import Yams

/// Reads `alertbridge.yaml` into a `ServerConfig`, reporting problems as it goes.
struct ServerConfigParser {
    let file: YAMLFile
    /// The file's directory, which a relative `sqlite:` store is in, as `rules:` and
    /// `policies:` are: a start from another directory must not open another, empty store.
    var directory = ""
    var files = ConfigFiles(currentDirectory: FileManager.default.currentDirectoryPath)
    /// What `serve` flags override: the file's value then does not matter.
    var overrides = ConfigLoader.Overrides()

    struct Output {
        var config = ServerConfig()
        /// Every connector name written, with its type when that was readable, so that a
        /// policy naming a connector whose definition is broken is not reported twice.
        /// Nil when the connectors could not be read at all: then no name can be checked.
        var declaredConnectors: [String: ConnectorType?]? = ["console": .console]
        /// The `rules:` and `policies:` values, where a problem with their directory is reported.
        var rulesNamedAt: (file: YAMLFile, node: Node)?
        var policiesNamedAt: (file: YAMLFile, node: Node)?
        /// The `retention:` value, where a rule's `reopen_within` as long is reported.
        var retentionAt: (file: YAMLFile, node: Node)?
    }

    /// The shortest `retention:`: a day, so that a typo (`retention: 7m`) cannot delete the
    /// incident someone resolved a moment ago.
    static let shortestRetention: Duration = .seconds(86_400)

    static let keys = ["listen", "store", "rules", "policies", "tokens", "connectors", "max_body_bytes", "limits", "delivery",
                       "heartbeats", "time_zone", "retention"]

    /// A relative store path under this file's directory. Builds before read it from the
    /// current directory: when only that file exists, the start stops and says where it is,
    /// instead of opening an empty store beside this file (incidents, timers and pages gone).
    private func sqlitePath(_ path: String, at node: Node) -> String {
        // What is no file path stays as written, for the store to refuse with its reason.
        guard !path.isEmpty, path != ":memory:", !path.hasPrefix("file:") else { return path }
        let resolved = ConfigFiles.join(directory, path)
        if resolved != path, !files.isFile(resolved), files.isFile(path) {
            file.report("""
                store "sqlite:\(path)" is relative to this file's directory, so it is \(resolved), which does not \
                exist; \(files.location(of: path)) does (where earlier builds looked): move it there, or write its \
                absolute path
                """, at: node)
        }
        // SQLite says only "unable to open database file", or "file is not a database".
        let directory = (resolved as NSString).deletingLastPathComponent
        if path.hasSuffix("/") || files.isDirectory(resolved) {
            file.report("store \"sqlite:\(path)\" is a directory; name the file in it (sqlite:\(path.hasSuffix("/") ? path : path + "/")alertbridge.db)",
                        at: node)
        } else if !directory.isEmpty, !files.isDirectory(directory) {
            file.report("store \"sqlite:\(path)\" is in \(files.location(of: directory)), which does not exist", at: node)
        } else if files.isFile(resolved), !files.isRegularFile(resolved) {
            file.report("store \"sqlite:\(path)\" is not a regular file (a device or a socket); name a file", at: node)
        } else if files.isFile(resolved), !files.isSQLiteOrEmpty(resolved) {
            file.report("store \"sqlite:\(path)\" is a file that is not an SQLite database", at: node)
        }
        return resolved
    }

    func parse(_ root: Node) -> Output {
        var output = Output()
        guard let fields = file.fields(root, allowed: Self.keys, expected: "a mapping of server settings") else {
            output.declaredConnectors = nil
            return output
        }
        if let node = fields["listen"], let text = file.string(node), !overrides.listen {
            if let address = ListenAddress(text) {
                output.config.listen = address
            } else {
                file.report("invalid listen address \"\(text)\" (expected host:port with a port from 1 to 65535, "
                            + "e.g. 127.0.0.1:8080)", at: node)
            }
        }
        if let node = fields["store"], let text = file.string(node), !overrides.store {
            do {
                if case .sqlite(let path) = try StoreLocation(parsing: text) {
                    output.config.store = "sqlite:" + sqlitePath(path, at: node)
                } else {
                    output.config.store = text
                }
            } catch {
                file.report(error.description, at: node)
            }
        }
        if let node = fields["rules"], let directory = file.name(node) {
            output.config.rulesDirectory = directory
            output.rulesNamedAt = (file, node)
        }
        if let node = fields["policies"], let directory = file.name(node) {
            output.config.policiesDirectory = directory
            output.policiesNamedAt = (file, node)
        }
        // A section whose every entry is commented out holds nothing, as `rules:` may.
        func section(_ key: String) -> Node? { fields[key].flatMap { $0.isNull ? nil : $0 } }
        let tokenItems = file.list(section("tokens"))
        if let tokenItems { output.config.tokens = tokens(tokenItems) }
        // Refused here, not only by `serve`, so that `check` passes no file `serve` refuses.
        if tokenItems?.isEmpty ?? (section("tokens") == nil), let node = fields["listen"], !overrides.listen,
           !output.config.listen.isLoopback {
            file.report("listening on \(output.config.listen.host) needs tokens: \(ListenAddress.tokensNeeded)", at: node)
        }
        if let node = section("connectors") { connectors(node, into: &output) }
        if let node = section("limits") { limits(node, into: &output.config.limits) }
        if let node = section("delivery") { delivery(node, into: &output.config.delivery) }
        if let items = file.list(section("heartbeats")) { output.config.heartbeats = heartbeats(items) }
        if let node = fields["time_zone"], let name = file.string(node) {
            switch WindowSchedule.timeZone(named: name) {
            case .success(let zone):
                output.config.timeZone = zone
            case .failure(.abbreviatedTimeZone):
                file.report("time_zone \"\(name)\" is an abbreviation or an offset, not a zone (expected an IANA name such as "
                            + "Asia/Seoul or America/New_York, which follow daylight saving)", at: node)
            case .failure:
                file.report("unknown time_zone \"\(name)\" (expected an IANA name such as Asia/Seoul)", at: node)
            }
        }
        if let node = fields["retention"],
           let age = file.duration(node, what: "retention", atMost: (.seconds(3650 * 86_400), "ten years; omit it to keep everything for good")) {
            if age < Self.shortestRetention {
                file.report("retention \"\(file.string(node) ?? "")\" is under a day, the shortest alertbridge accepts: it deletes "
                            + "resolved incidents and ended silences older than this (omit it to keep them for good)", at: node)
            } else {
                output.config.retention = age
                output.retentionAt = (file, node)
            }
        }
        if let node = fields["max_body_bytes"], let bytes = file.int(node) {
            if bytes > 0 {
                output.config.maxBodyBytes = bytes
            } else {
                file.report("max_body_bytes must be greater than zero", at: node)
            }
        }
        return output
    }

    /// `limits: {max_labels: 32, ...}`: every value a whole number above zero. A sender's
    /// dedup key is indexed, and PostgreSQL refuses an index entry over about 2.7 KB.
    private func limits(_ node: Node, into limits: inout IngestLimits) {
        guard let fields = file.fields(node, allowed: IngestLimits.keys.map(\.key), expected: "a mapping of ingest limits") else { return }
        for (key, path) in IngestLimits.keys {
            guard let valueNode = fields[key], let value = file.int(valueNode) else { continue }
            if value <= 0 {
                file.report("\(key) must be greater than zero", at: valueNode)
            } else if key == "max_dedup_key_bytes", value > 1024 {
                file.report("max_dedup_key_bytes must be at most 1024 (the key is indexed)", at: valueNode)
            } else {
                limits[keyPath: path] = value
            }
        }
    }

    /// `delivery: {max_age: 1h, connect_timeout: 5s, timeout: 20s}`: timers like any other
    /// (`timeout: 20ms` would time every transfer out, and `max_age: 5ms` give pages up).
    private func delivery(_ node: Node, into settings: inout DeliverySettings) {
        let keys: [(String, WritableKeyPath<DeliverySettings, Duration>)] = [
            ("max_age", \.maxAge), ("connect_timeout", \.connectTimeout), ("timeout", \.timeout),
        ]
        guard let fields = file.fields(node, allowed: keys.map(\.0), expected: "a mapping of delivery settings") else { return }
        for (key, path) in keys {
            if let duration = file.duration(fields[key], what: key) { settings[keyPath: path] = duration }
        }
    }

    /// `heartbeats: [{name: prometheus-apac, timeout: 5m, severity: critical, labels: {region: apac}}]`.
    private func heartbeats(_ items: [Node]) -> [Heartbeat] {
        var out: [Heartbeat] = []
        var seen: Set<String> = []
        for item in items {
            guard let fields = file.fields(item, allowed: ["name", "timeout", "severity", "labels"], required: ["name", "timeout"],
                                           expected: "a heartbeat ({name: ..., timeout: 5m})") else { continue }
            var name: String?
            if let node = fields["name"], let text = file.string(node) {
                if !Heartbeat.isValidName(text) {
                    file.report("invalid heartbeat name \"\(text)\" (1 to 128 of A-Z a-z 0-9 . _ -; it is part of the URL)", at: node)
                } else if !seen.insert(text).inserted {
                    file.report("duplicate heartbeat name \"\(text)\"", at: node)
                } else {
                    name = text
                }
            }
            let timeout = file.duration(fields["timeout"])
            let severity: Severity? = fields["severity"].map { file.choice($0, "severity") } ?? .critical
            var labels: Labels? = [:]
            if let node = fields["labels"], let entries = file.namedEntries(node) {
                for entry in entries {
                    if !Matcher.isValidLabelName(entry.name) {
                        file.report("invalid label name \"\(entry.name)\"", at: entry.key)
                        labels = nil
                    } else if ["alertname", "heartbeat"].contains(entry.name) {
                        file.report("label \"\(entry.name)\" is set by alertbridge (HeartbeatMissed, the heartbeat's name)", at: entry.key)
                        labels = nil
                    } else if let value = file.string(entry.value) {
                        labels?[entry.name] = value
                    } else {
                        labels = nil
                    }
                }
            }
            if let name, let timeout, let severity, let labels {
                out.append(Heartbeat(name: name, timeout: timeout, severity: severity, labels: labels))
            }
        }
        return out
    }

    private func tokens(_ items: [Node]) -> [TokenConfig] {
        var tokens: [TokenConfig] = []
        var seen: Set<String> = []
        // Each secret (after `${VAR}` substitution) with the first token that has it: a
        // request is matched to the first token presenting its secret, so a second token
        // with the same secret would never be used and its scopes would silently not apply.
        var secretOwners: [String: String] = [:]
        for item in items {
            let keys = ["name", "scopes", "secret"]
            guard let fields = file.fields(item, allowed: keys + ["rate_limit"], required: keys) else { continue }
            var rateLimit: Double? = 1000
            if let node = fields["rate_limit"] {
                // Read without `file.string`/`file.int`, which would each report `0.5` too.
                if node.string == "none" {
                    rateLimit = nil
                } else if let value = node.int, node.tag.description == Tag.Name.int.rawValue, value > 0 {
                    rateLimit = Double(value)
                } else {
                    file.report("rate_limit must be a whole number of requests per second above zero, or none", at: node)
                }
            }
            let name = file.name(fields["name"])
            if let name, let node = fields["name"], !seen.insert(name).inserted {
                file.report("duplicate token name \"\(name)\"", at: node)
            }
            // A PagerDuty event's alert is TOKEN/KEY and a heartbeat's heartbeat/NAME: this
            // token's `resolve` would reach the heartbeats' incidents.
            if name == "heartbeat", let node = fields["name"] {
                file.report("the token name \"heartbeat\" is reserved for heartbeats' alerts; choose another", at: node)
            } else if let name, name.contains("/"), let node = fields["name"] {
                // TOKEN/KEY must name one sender's key: `a` + `b/x` would be `a/b` + `x`.
                file.report("a token name may not contain \"/\" (its PagerDuty events' alerts are TOKEN/KEY)", at: node)
            }
            var scopes: Set<Scope>?
            if let node = fields["scopes"], let list = file.list(node) {
                let read = list.compactMap { file.choice($0, "scope") as Scope? }
                if list.isEmpty {
                    file.report("a token needs at least one scope (ingest, operate)", at: node)
                } else if read.count == list.count {
                    scopes = Set(read)
                }
            }
            let secret = file.string(fields["secret"])
            if secret?.allSatisfy(\.isWhitespace) == true, let node = fields["secret"] {
                file.report("the token secret is empty\(node.string?.contains("${") == true ? " (its environment variable is set to nothing)" : "")", at: node)
            } else if let secret, let node = fields["secret"] {
                // Never quote the secret: the problem names only the tokens.
                if let owner = secretOwners[secret] {
                    let this = name.map { "token \"\($0)\"" } ?? "this token"
                    file.report("\(this) has the same secret as token \"\(owner)\"; "
                                + "a request with it is always token \"\(owner)\", so give each token its own secret", at: node)
                } else if let name {
                    secretOwners[secret] = name
                }
            }
            if let name, let scopes, let secret, !secret.isEmpty {
                tokens.append(TokenConfig(name: name, scopes: scopes, secret: secret, rateLimit: rateLimit))
            }
        }
        return tokens
    }

    private func connectors(_ node: Node, into output: inout Output) {
        guard let entries = file.namedEntries(node) else {
            output.declaredConnectors = nil
            return
        }
        for (name, keyNode, value) in entries {
            let type = connector(name, value)
            output.declaredConnectors?.updateValue(type, forKey: name)
            if name == "console", let type, type != .console {
                file.report("the connector name \"console\" is reserved for the built-in console connector", at: keyNode)
                continue
            }
            guard let type, let settings = settings(of: type, value) else { continue }
            output.config.connectors[name] = ConnectorConfig(name: name, type: type, settings: settings)
        }
    }

    /// The type alone, read first because it decides which other keys are allowed.
    private func connector(_ name: String, _ value: Node) -> ConnectorType? {
        guard case .mapping = value else {
            file.report("expected a mapping with a \"type\" for connector \"\(name)\", found \(value.found)", at: value)
            return nil
        }
        guard let typeNode = value["type"] else {
            file.report("missing required key \"type\" (one of: \(Self.typeList))", at: value)
            return nil
        }
        return file.choice(typeNode, "connector type")
    }

    private static let typeList = ConnectorType.allCases.map(\.rawValue).joined(separator: ", ")

    private static func keys(of type: ConnectorType) -> (required: [String], optional: [String]) {
        switch type {
        case .console: ([], [])
        case .slack, .teams: (["webhook_url"], [])
        case .smtp: (["url", "from"], ["username", "password", "starttls"])
        case .webhook: (["url"], ["secret"])
        }
    }

    private func settings(of type: ConnectorType, _ value: Node) -> [String: String]? {
        let (required, optional) = Self.keys(of: type)
        let allowed = ["type"] + required + optional
        guard let fields = file.fields(value, allowed: allowed) else { return nil }
        var settings: [String: String] = [:]
        var complete = true
        for key in required where fields[key] == nil {
            file.report("missing required key \"\(key)\" for a \(type.rawValue) connector", at: value)
            complete = false
        }
        for key in required + optional {
            guard let node = fields[key] else { continue }
            guard let text = file.string(node) else { complete = false; continue }
            // Values may be secrets (a Slack webhook URL is one), so problems never quote them.
            if text.isEmpty {
                // `${VAR}` set to nothing: an empty secret would send unsigned pages, an empty
                // password try AUTH without one; either would fail only at the first page.
                file.report("\(key) is empty\(node.string?.contains("${") == true ? " (its environment variable is set to nothing)" : "")", at: node)
                complete = false
            } else if let why = Self.invalidSetting(key, text, type) {
                file.report(why, at: node)
                complete = false
            }
            settings[key] = text
        }
        if (fields["username"] == nil) != (fields["password"] == nil) {
            file.report("username and password must be given together", at: value)
            complete = false
        }
        return complete ? settings : nil
    }

    private static func invalidSetting(_ key: String, _ text: String, _ type: ConnectorType) -> String? {
        let lower = text.lowercased()
        switch (type, key) {
        case (_, "webhook_url"), (.webhook, "url"):
            return lower.hasPrefix("https://") || lower.hasPrefix("http://")
                ? addressProblem(key, text) : "\(key) must be an http:// or https:// URL"
        case (.smtp, "url"):
            return lower.hasPrefix("smtp://") || lower.hasPrefix("smtps://")
                ? addressProblem(key, text) : "url must be an smtp:// or smtps:// URL"
        case (.smtp, "from"):
            return text.contains("@") ? nil : "from must be an email address"
        case (.smtp, "starttls"):
            return ["none", "optional", "required"].contains(text)
                ? nil : "unknown starttls \"\(text)\" (expected one of: none, optional, required)"
        default:
            return nil
        }
    }

    /// What makes a connector URL one no page can be sent to, found by `check` rather than
    /// by the first page: `http://127.0.0.1:70000/hook` passed, and every page to it failed
    /// for good with curl's "URL using bad/illegal format" (black-box round 39). The URL
    /// may hold a secret, so only its port is quoted.
    static func addressProblem(_ key: String, _ url: String) -> String? {
        if url.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            return "\(key) is not a valid URL (a space or control character must be percent-encoded)"
        }
        // Read from the text: `URLComponents` has no port for one that overflows an `Int`,
        // and no URL at all for `:25x`.
        if let port = portText(of: url), !(UInt16(port).map { $0 > 0 } ?? false) {
            return "\(key) has port \(port), which is not a port (1-65535)"
        }
        guard let parts = URLComponents(string: url) else { return "\(key) is not a valid URL" }
        guard let host = parts.host, !host.isEmpty else { return "\(key) names no host" }
        return nil
    }

    /// What follows the host's `:` in a URL's authority (after any `user:password@`), if
    /// anything does: `99999999999999999999` and `25x` as written.
    static func portText(of url: String) -> Substring? {
        guard let scheme = url.range(of: "://") else { return nil }
        let rest = url[scheme.upperBound...]
        var authority = rest.prefix { !"/?#".contains($0) }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            authority = authority[authority.index(after: close)...]
        } else if let colon = authority.firstIndex(of: ":") {
            authority = authority[colon...]
        } else {
            return nil
        }
        guard authority.hasPrefix(":") else { return nil }
        return authority.dropFirst()
    }
}
