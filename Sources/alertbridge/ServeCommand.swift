import AlertBridgeConfig
import AlertBridgeCore
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

    func validate() throws {
        if let listen, ListenAddress(listen) == nil {
            throw ValidationError("--listen must be HOST:PORT with a port from 1 to 65535, got \"\(listen)\"")
        }
        if let store {
            do { _ = try StoreLocation(parsing: store) } catch { throw ValidationError("--store: \(error)") }
        }
    }

    func run() async throws {
        // Until the service that says so runs (after the store opened, which takes seconds
        // when PostgreSQL is slow to answer), a `systemctl reload` would end the start.
        signal(SIGHUP, SIG_IGN)
        LoggingSystem.bootstrap(DeferredMetadataLogHandler.init)
        var logger = Logger(label: "alertbridge")
        logger.logLevel = .info
        let loaded: LoadedConfig
        do {
            loaded = try ConfigLoader.load(configFile: config, overrides: .init(listen: listen != nil, store: store != nil))
        } catch {
            throw fail("configuration has problems:", details: error.problems.map(\.description))
        }
        // Both parse: validate() checked the flags, the loader the file.
        let address = listen.flatMap(ListenAddress.init) ?? loaded.server.listen
        if let descriptors = ConnectionLimits.raiseDescriptorLimit(), descriptors < 1024 {
            logger.warning("""
                the file descriptor limit is \(descriptors) (ulimit -n), and its hard limit no higher: HTTP connections get at \
                most \(ConnectionLimits.maxConnections), and a storm's pages and the store may find none free; raise it \
                (LimitNOFILE= under systemd)
                """)
        }
        let location = try store.map { try StoreLocation(parsing: $0) } ?? StoreLocation(parsing: loaded.server.store)
        // `--config` from another directory and no `store:`: the default file is in the
        // directory `serve` started in, not beside the server file, so a start from elsewhere
        // opens another, empty store (black-box round 27: "created a new store", the open
        // incidents left in the first one, their next tiers never paged).
        if store == nil, let config, loaded.server.store == ServerConfig().store {
            let beside = URL(fileURLWithPath: config).deletingLastPathComponent().standardizedFileURL.path
            let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL.path
            if beside != here {
                logger.warning("""
                    \(config) sets no store:, so the store is alertbridge.db in the directory serve started in (\(here)), not \
                    beside the server file; a start from another directory opens another store: set store: to an absolute \
                    path (store: sqlite:\(beside)/alertbridge.db)
                    """)
            }
        }
        if loaded.server.tokens.isEmpty {
            // The file's `listen:` was checked by the loader (so `check` refuses it too).
            guard address.isLoopback else {
                throw fail("refusing to listen on \(address.host) without tokens: \(ListenAddress.tokensNeeded)")
            }
            logger.notice("protected mode: no tokens configured, so alertbridge listens on loopback only", metadata: ["listen": "\(address)"])
        } else {
            logger.info("bearer tokens required", metadata: ["tokens": "\(loaded.server.tokens.map(\.name).sorted().joined(separator: ", "))"])
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
                // `--store` is not read by the loader, which says this of `store:`.
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
                    throw Refused("it is a directory; name the file in it (sqlite:\(file)/alertbridge.db)")
                }
                // Not in `check`, which may run as another user. SQLite said only "unable to
                // open database file" (black-box round 27).
                guard access(directory, W_OK | X_OK) == 0 else {
                    throw Refused("alertbridge cannot create files in \(directory) (\(String(cString: strerror(errno)))), where the store "
                                  + "and its -wal and -shm go: make it writable for the user alertbridge runs as, or name a store elsewhere")
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
            throw fail("cannot open \(which): \(StoreError.unavailableReason(error) ?? "\(error)")")
        }
        logger.info("configuration loaded", metadata: ["summary": "\(loaded.summary)"])
        do {
            let inUse = try await incidentStore.policiesInUse()
            for finding in PolicyReview.findings(inUse, policies: loaded.policies, connectors: Set(loaded.server.connectors.keys),
                                                 maxAge: loaded.server.delivery.maxAge) {
                if finding.isWarning { logger.warning("\(finding.text)") } else { logger.notice("\(finding.text)") }
            }
            let open = try await incidentStore.incidents(IncidentQuery(status: .open, limit: Int(Int32.max)))
            var (rekeyed, refused) = ([IncidentReview.Rekey](), [IncidentReview.Rekey]())
            for rekey in IncidentReview.rekeys(open, rules: loaded.rules) {
                if try await incidentStore.rekey(rekey.id, to: rekey.key, because: rekey.why, now: SystemClock().now()) {
                    rekeyed.append(rekey)
                } else {
                    refused.append(rekey)
                }
            }
            for finding in IncidentReview.findings(rekeyed: rekeyed, refused: refused) {
                if finding.isWarning { logger.warning("\(finding.text)") } else { logger.notice("\(finding.text)") }
            }
            for finding in IncidentReview.orphanedHeartbeats(open, heartbeats: Set(loaded.server.heartbeats.map(\.name))) {
                logger.warning("\(finding)")
            }
            let unpaged = try await incidentStore.incidentDetails(ids: open.filter { !$0.escalation.hasPaged }.map(\.id))
            var moved: [IncidentReview.Retime] = []
            for retime in IncidentReview.retimes(Array(unpaged.values), context: EscalationContext(rules: loaded.rules, policies: loaded.policies))
            where try await incidentStore.retime(retime.id, from: retime.old, to: retime.new) {
                moved.append(retime)
            }
            if let text = IncidentReview.retimed(moved) { logger.notice("\(text)") }
        } catch {
            logger.warning("could not read the open incidents, to say which the configuration no longer reaches as before", metadata: ["error": "\(error)"])
        }
        let app = AlertBridgeApplication(store: incidentStore, rules: loaded.rules, policies: loaded.policies,
                                         connectors: connectors(loaded.server), tokens: loaded.server.tokens,
                                         limits: loaded.server.limits, maxBodyBytes: loaded.server.maxBodyBytes,
                                         backoff: Backoff(maxAge: loaded.server.delivery.maxAge),
                                         deliveryLease: Dispatcher.lease(outlasting: loaded.server.delivery.timeout),
                                         heartbeats: loaded.server.heartbeats, timeZone: loaded.server.timeZone,
                                         retention: loaded.server.retention)
        do {
            // As `runService()` runs the application, with SIGHUP and a second SIGTERM taken
            // care of beside it.
            try await ServiceGroup(configuration: .init(
                services: [.init(service: RepeatedStopSignal(logger: logger)),
                           .init(service: app.application(host: address.host, port: address.port, logger: logger,
                                                          onServerRunning: { _ in StartupCode.release() })),
                           // Done at shutdown; its end must not cancel the server's graceful one.
                           .init(service: HangupSignal(logger: logger), successTerminationBehavior: .ignore)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)).run()
        } catch let stopped as RepeatedStopSignal.StoppedAtOnce {
            try? await incidentStore.close()
            throw fail(stopped.description)
        } catch {
            try? await incidentStore.close()
            if let why = bindFailure(error) {
                throw fail("cannot listen on \(address): \(why)")
            }
            throw error
        }
        try await incidentStore.close()
    }
}

/// The connectors of the server file, ready to deliver. The parser checked their settings
/// (required keys present and not empty, URL schemes, `starttls` values).
func connectors(_ server: ServerConfig) -> [String: any Connector] {
    let transport = CurlTransport(connectTimeout: server.delivery.connectTimeout, totalTimeout: server.delivery.timeout)
    return server.connectors.mapValues { config -> any Connector in
        let setting = { (key: String) in config.settings[key] ?? "" }
        switch config.type {
        case .console:
            return ConsoleConnector()
        case .slack:
            return ChatConnector.slack(webhookURL: setting("webhook_url"), transport: transport)
        case .teams:
            return ChatConnector.teams(webhookURL: setting("webhook_url"), transport: transport)
        case .webhook:
            return WebhookConnector(url: setting("url"), secret: config.settings["secret"], transport: transport)
        case .smtp:
            return SMTPConnector(settings: SMTPConnector.Settings(
                url: setting("url"), from: setting("from"), username: config.settings["username"],
                password: config.settings["password"],
                startTLS: config.settings["starttls"].flatMap(StartTLS.init(rawValue:)) ?? .optional), transport: transport)
        }
    }
}

/// What an operator can act on when the socket could not be bound: NIO reports it as an
/// `IOError` whose errno says why (its own text names the syscall, not the address).
/// `nil` for any other error.
func bindFailure(_ error: any Error) -> String? {
    guard let error = error as? IOError else { return nil }
    if error.errnoCode == EADDRINUSE { return "address already in use (is another alertbridge running?)" }
    return String(cString: strerror(error.errnoCode))
}
