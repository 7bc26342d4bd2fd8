import ArgumentParser
import Foundation

/// `alertbridge heartbeats`: which monitors are alive.
struct Heartbeats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the configured heartbeats: waiting for a first ping, up, or missed.", discussion: serverEnvironment)

    /// The client's reading of one listed heartbeat.
    struct View: Decodable {
        var name: String
        var status: String
        var timeout: String
        var severity: String
        var last_ping_at: String?
        var expires_at: String?
    }

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let data = try await request { try await $0.send("GET", "/api/v1/heartbeats") }
        if output.json { return printRaw(data) }
        let list = try decodeAnswer([String: [View]].self, from: data)["heartbeats"] ?? []
        if list.isEmpty { return print("no heartbeats configured (heartbeats: in alertbridge.yaml)") }
        printTable(["NAME", "STATUS", "TIMEOUT", "SEVERITY", "LAST PING", "EXPIRES"],
                   list.map { [$0.name, $0.status, $0.timeout, $0.severity, $0.last_ping_at ?? "never", $0.expires_at ?? ""] })
    }
}
