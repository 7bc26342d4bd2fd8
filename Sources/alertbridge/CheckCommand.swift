import AlertBridgeConfig
import AlertBridgeCore
import AlertBridgeStore
import ArgumentParser
import Foundation

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate alertbridge.yaml, rules/ and escalation-policies/.",
        discussion: "Prints every problem as path:line:col: message and exits 1, or a one-line summary and exits 0.")

    @Option(help: "Server file (default: ./alertbridge.yaml if present, else built-in defaults).")
    var config: String?

    func run() async throws {
        let loaded: LoadedConfig
        do {
            loaded = try ConfigLoader.load(configFile: config)
        } catch {
            for problem in error.problems { print(problem) }
            throw ExitCode(1)
        }
        do {
            try Self.verifyStore(loaded.server.store)
        } catch {
            print(StoreError.unavailableReason(error) ?? "\(error)")
            throw ExitCode(1)
        }
        print(loaded.summary)
    }

    /// `serve` refuses a damaged or unreadable store file at start; so does `check`, which
    /// said ok for one (black-box round 25): "check, then restart" must not leave the
    /// service down. A file not there yet is created by `serve`.
    static func verifyStore(_ store: String) throws {
        guard case .sqlite(let path)? = try? StoreLocation(parsing: store), FileManager.default.fileExists(atPath: path) else { return }
        try SQLiteStore.verify(path: path)
    }
}
