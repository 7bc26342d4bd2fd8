import AlertBridgeConfig
import ArgumentParser

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate alertbridge.yaml, rules/ and escalation-policies/.",
        discussion: "Prints every problem as path:line:col: message and exits 1, or a one-line summary and exits 0.")

    @Option(help: "Server file (default: ./alertbridge.yaml if present, else built-in defaults).")
    var config: String?

    func run() async throws {
        do {
            let loaded = try ConfigLoader.load(configFile: config)
            print(loaded.summary)
        } catch {
            for problem in error.problems { print(problem) }
            throw ExitCode(1)
        }
    }
}
