import AlertBridgeCore
import Foundation

/// What a bearer token may do: senders get `ingest`, people get `operate`.
public enum Scope: String, Sendable, CaseIterable {
    case ingest, operate
}

public struct TokenConfig: Sendable, Equatable {
    public var name: String
    public var scopes: Set<Scope>
    /// Taken from the environment (`${VAR}`), never written in the YAML itself.
    public var secret: String
    /// Requests per second this token may make (bursts up to twice that); `nil`: no limit.
    public var rateLimit: Double?

    public init(name: String, scopes: Set<Scope>, secret: String, rateLimit: Double? = 1000) {
        self.name = name
        self.scopes = scopes
        self.secret = secret
        self.rateLimit = rateLimit
    }
}

public enum ConnectorType: String, Sendable, CaseIterable {
    case console, slack, teams, smtp, webhook
}

public struct ConnectorConfig: Sendable, Equatable {
    public var name: String
    public var type: ConnectorType
    /// Type-specific settings as written (`webhook_url`, `url`, `from`, `username`,
    /// `password`, `starttls`, `secret`), after `${VAR}` substitution. A string map until
    /// the connectors themselves define typed settings.
    public var settings: [String: String]

    public init(name: String, type: ConnectorType, settings: [String: String] = [:]) {
        self.name = name
        self.type = type
        self.settings = settings
    }

    /// Always present, so a first run without any configuration still shows each page.
    public static let console = ConnectorConfig(name: "console", type: .console)
}

/// How pages are delivered: `delivery:` in alertbridge.yaml.
public struct DeliverySettings: Sendable, Equatable {
    /// Transient failures are retried with backoff until a page is this old, then it fails.
    public var maxAge: Duration = .seconds(3600)
    public var connectTimeout: Duration = .seconds(5)
    /// For a whole transfer: connecting, TLS, sending and the answer.
    public var timeout: Duration = .seconds(20)

    public init() {}
}

/// The settings of `alertbridge.yaml`.
public struct ServerConfig: Sendable, Equatable {
    public var listen: ListenAddress
    /// A store URL that parses (`StoreLocation`); a relative `sqlite:` path is resolved
    /// against the file's directory.
    public var store: String
    /// Already resolved against the config file's directory, so it can be opened from
    /// the current directory as is.
    public var rulesDirectory: String
    /// Resolved like `rulesDirectory`.
    public var policiesDirectory: String
    public var tokens: [TokenConfig]
    /// Always holds `console`, even when the file does not define it.
    public var connectors: [String: ConnectorConfig]
    public var maxBodyBytes: Int
    public var limits: IngestLimits
    public var delivery = DeliverySettings()
    /// Monitors that must ping `POST /api/v1/heartbeats/{name}`: `heartbeats:`.
    public var heartbeats: [Heartbeat] = []
    /// `time_zone:`: the zone pages give their times in, beside UTC.
    public var timeZone = TimeZone(identifier: "UTC")!
    /// `retention:`: how long resolved incidents and ended silences are kept; `nil` (not
    /// set): for good.
    public var retention: Duration?

    public init(
        listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 8080), store: String = "sqlite:alertbridge.db",
        rulesDirectory: String = "rules", policiesDirectory: String = "escalation-policies",
        tokens: [TokenConfig] = [], connectors: [String: ConnectorConfig] = ["console": .console],
        maxBodyBytes: Int = 16_777_216, limits: IngestLimits = IngestLimits()
    ) {
        self.limits = limits
        self.listen = listen
        self.store = store
        self.rulesDirectory = rulesDirectory
        self.policiesDirectory = policiesDirectory
        self.tokens = tokens
        self.connectors = connectors
        self.maxBodyBytes = maxBodyBytes
        if self.connectors["console"] == nil { self.connectors["console"] = .console }
    }
}
