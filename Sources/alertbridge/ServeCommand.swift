import AlertBridgeConfig
import AlertBridgeNotify
import AlertBridgeServer
import AlertBridgeStore
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the alertbridge server.")

    @Option(help: "Server file (default: ./alertbridge.yaml if present, else built-in defaults).")
    var config: String?

    @Option(help: "HOST:PORT to listen on, overriding the file.")
    var listen: String?

    @Option(help: "Store URL (sqlite:FILE or postgres://user:pass@host:5432/db[?sslmode=require]), overriding the file.")
    var store: String?

    func run() async throws {
        LoggingSystem.bootstrap(DeferredMetadataLogHandler.init)
        var logger = Logger(label: "alertbridge")
        logger.logLevel = .info
        let loaded: LoadedConfig
        do {
            loaded = try ConfigLoader.load(configFile: config, storeOverridden: store != nil)
        } catch {
            throw fail("configuration has problems:\n\(error)")
        }
        var host = loaded.server.listenHost
        var port = loaded.server.listenPort
        if let listen {
            guard let parsed = ListenAddress(listen) else {
                throw ValidationError("--listen must be HOST:PORT, got \"\(listen)\"")
            }
            (host, port) = (parsed.host, parsed.port)
        }
        if loaded.server.tokens.isEmpty {
            guard ListenAddress.isLoopback(host) else {
                throw fail("refusing to listen on \(host) without tokens: anyone who reaches it could post alerts and act on incidents; configure tokens in alertbridge.yaml (see alertbridge.example.yaml) or listen on 127.0.0.1")
            }
            logger.notice("protected mode: no tokens configured, so alertbridge listens on loopback only", metadata: ["listen": "\(host):\(port)"])
        } else {
            logger.info("bearer tokens required", metadata: ["tokens": "\(loaded.server.tokens.map(\.name).sorted().joined(separator: ", "))"])
        }

        // Before the store: a start that fails on its configuration must not have migrated
        // a shared database, which every instance of the earlier build would refuse at its next start.
        let pagers = try connectors(loaded.server)
        let location: StoreLocation
        do {
            location = try StoreLocation(parsing: store ?? loaded.server.store)
        } catch {
            throw fail("\(error)")
        }
        let incidentStore: any IncidentStore
        var which = "the store"
        do {
            switch location {
            case .sqlite(let path):
                // The absolute path: which file holds the incidents must never be a guess.
                let file = URL(fileURLWithPath: path).standardizedFileURL.path
                which = "the store at \(file)"
                // SQLite says only "unable to open database file".
                let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
                guard FileManager.default.fileExists(atPath: directory) else {
                    throw Refused("the directory \(directory) does not exist")
                }
                let existed = FileManager.default.fileExists(atPath: file)
                incidentStore = try await SQLiteStore.open(path: path, logger: logger)
                // A wrong `store:` (or working directory) opens an empty store, also when an
                // earlier failed start already created the file: say so while it can be caught.
                // A first start creates its file, which is no surprise.
                if !existed {
                    logger.notice("created a new store at \(file)")
                } else if try await incidentStore.incidents(IncidentQuery(status: .all, limit: 1)).isEmpty {
                    logger.warning("""
                        the store at \(file) holds no incident; if alertbridge ran before, its incidents, timers and \
                        pending pages are in another file: stop it and check store:
                        """)
                }
                logger.info("store ready", metadata: ["sqlite": "\(file)"])
            case .postgres(let location):
                incidentStore = try await PostgresStore.open(location, logger: logger)
                logger.info("store ready", metadata: ["postgres": "\(location)"])
            }
        } catch {
            throw fail("cannot open \(which): \(error)")
        }
        logger.info("configuration loaded", metadata: ["summary": "\(loaded.summary)"])
        let app = AlertBridgeApplication(store: incidentStore, rules: loaded.rules, policies: loaded.policies,
                                         connectors: pagers, tokens: loaded.server.tokens,
                                         limits: loaded.server.limits, maxBodyBytes: loaded.server.maxBodyBytes,
                                         backoff: Backoff(maxAge: loaded.server.delivery.maxAge),
                                         deliveryLease: Dispatcher.lease(outlasting: loaded.server.delivery.timeout),
                                         heartbeats: loaded.server.heartbeats)
        do {
            // As `runService()` runs the application, with SIGHUP taken care of beside it.
            try await ServiceGroup(configuration: .init(
                services: [.init(service: app.application(host: host, port: port, logger: logger)),
                           // Done at shutdown; its end must not cancel the server's graceful one.
                           .init(service: HangupSignal(logger: logger), successTerminationBehavior: .ignore)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)).run()
        } catch {
            try? await incidentStore.close()
            if let why = ListenAddress.bindFailure(error) {
                throw fail("cannot listen on \(ListenAddress.text(host: host, port: port)): \(why)")
            }
            throw error
        }
        try await incidentStore.close()
    }
}

/// The connectors of the server file, ready to deliver.
/// Settings were checked by the config parser (required keys, URL schemes, `starttls`
/// values); an empty `${VAR}` is caught here, since sending to it could never work.
func connectors(_ server: ServerConfig) throws -> [String: any Connector] {
    var out: [String: any Connector] = [:]
    let transport = CurlTransport(connectTimeout: server.delivery.connectTimeout, totalTimeout: server.delivery.timeout)
    for (name, config) in server.connectors {
        func setting(_ key: String) throws -> String {
            guard let value = config.settings[key], !value.isEmpty else {
                throw fail("connector \"\(name)\": \(key) is empty (is its environment variable set?)")
            }
            return value
        }
        func optional(_ key: String) -> String? {
            config.settings[key].flatMap { $0.isEmpty ? nil : $0 }
        }
        switch config.type {
        case .console:
            out[name] = ConsoleConnector()
        case .slack:
            out[name] = SlackConnector(webhookURL: try setting("webhook_url"), transport: transport)
        case .teams:
            out[name] = TeamsConnector(webhookURL: try setting("webhook_url"), transport: transport)
        case .webhook:
            // A secret written but empty would send unsigned pages the receiver rejects.
            out[name] = WebhookConnector(url: try setting("url"),
                                         secret: config.settings["secret"] == nil ? nil : try setting("secret"),
                                         transport: transport)
        case .smtp:
            let startTLS = optional("starttls").flatMap(StartTLS.init(rawValue:)) ?? .optional
            out[name] = SMTPConnector(settings: SMTPConnector.Settings(
                url: try setting("url"), from: try setting("from"), username: optional("username"),
                password: optional("password"), startTLS: startTLS), transport: transport)
        }
    }
    return out
}

/// `HOST:PORT`, with IPv6 hosts in brackets (`[::1]:8080`).
struct ListenAddress {
    var host: String
    var port: Int

    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// `HOST:PORT` as `--listen` takes it back.
    static func text(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// What an operator can act on when the socket could not be bound: NIO reports it as an
    /// `IOError` whose errno says why (its own text names the syscall, not the address).
    /// `nil` for any other error.
    static func bindFailure(_ error: any Error) -> String? {
        guard let error = error as? IOError else { return nil }
        if error.errnoCode == EADDRINUSE { return "address already in use (is another alertbridge running?)" }
        return String(cString: strerror(error.errnoCode))
    }
}
