import AlertBridgeConfig
import AlertBridgeNotify
import AlertBridgeServer
import AlertBridgeStore
import ArgumentParser
import Hummingbird
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the alertbridge server.")

    @Option(help: "Server file (default: ./alertbridge.yaml if present, else built-in defaults).")
    var config: String?

    @Option(help: "HOST:PORT to listen on, overriding the file.")
    var listen: String?

    @Option(help: "Store URL (sqlite:FILE), overriding the file.")
    var store: String?

    func run() async throws {
        var logger = Logger(label: "alertbridge")
        logger.logLevel = .info
        let loaded: LoadedConfig
        do {
            loaded = try ConfigLoader.load(configFile: config)
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
        guard ListenAddress.isLoopback(host) else {
            throw fail("refusing to listen on \(host): token authentication is not available yet, so alertbridge only binds to loopback (127.0.0.1, ::1, localhost)")
        }
        logger.notice("protected mode: no tokens are enforced, listening on loopback only", metadata: ["listen": "\(host):\(port)"])

        let location: StoreLocation
        do {
            location = try StoreLocation(parsing: store ?? loaded.server.store)
        } catch {
            throw fail("\(error)")
        }
        let incidentStore: any IncidentStore
        switch location {
        case .sqlite(let path):
            incidentStore = try await SQLiteStore.open(path: path, logger: logger)
            logger.info("store ready", metadata: ["sqlite": "\(path)"])
        }
        logger.info("configuration loaded", metadata: ["summary": "\(loaded.summary)"])
        let app = AlertBridgeApplication(store: incidentStore, rules: loaded.rules, policies: loaded.policies,
                                         connectors: try connectors(loaded.server), maxBodyBytes: loaded.server.maxBodyBytes)
        do {
            try await app.application(host: host, port: port, logger: logger).runService()
        } catch {
            try? await incidentStore.close()
            throw error
        }
        try await incidentStore.close()
    }
}

/// The connectors of the server file, ready to deliver.
func connectors(_ server: ServerConfig) throws -> [String: any Connector] {
    var out: [String: any Connector] = [:]
    for (name, config) in server.connectors {
        switch config.type {
        case .console:
            out[name] = ConsoleConnector()
        case .slack, .teams, .smtp, .webhook:
            throw fail("connector \"\(name)\": type \(config.type.rawValue) is not available in this build yet; page through a console connector for now")
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
}
