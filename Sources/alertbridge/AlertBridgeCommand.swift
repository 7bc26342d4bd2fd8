import ArgumentParser
import Foundation

/// `alertbridge`: the server and the operator's command line in one binary.
@main
struct AlertBridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alertbridge",
        abstract: "Turns monitoring alerts into incidents and gets a human on them.",
        subcommands: [
            Serve.self, Check.self, Incidents.self, Show.self, Ack.self, Resolve.self, Note.self, Escalate.self, SilenceCommand.self, Heartbeats.self, Report.self,
        ])

    /// Exit codes as DESIGN.md §5 fixes them: 0 success, 1 refused, 2 usage error.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// A one-line refusal: printed to stderr, exit 1.
struct Refused: Error, CustomStringConvertible {
    var description: String
    /// About the incident or silence asked for (404, 409), not the server, the network or
    /// the token: a verb given several ids goes on with the next one.
    var aboutTheTarget = false
    init(_ description: String) { self.description = description }
}

/// Says `message` on stderr in one line (it may quote the server: a title, who acted),
/// then each of `details` on a line of its own, after what stdout holds so far; the exit
/// status is 1.
func fail(_ message: String, details: [String] = []) -> ExitCode {
    fflush(nil)
    let lines = ["alertbridge: \(message)"] + details
    FileHandle.standardError.write(Data(lines.map { oneLine($0) + "\n" }.joined().utf8))
    return ExitCode(1)
}
