import ArgumentParser
import Foundation

/// `alertbridge`: the server and the operator's command line in one binary.
@main
struct AlertBridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alertbridge",
        abstract: "Turns monitoring alerts into incidents and gets a human on them.",
        discussion: "serve runs the server and check validates its files; the other commands are the operator's.\n\n"
            + serverEnvironment,
        subcommands: [
            Serve.self, Check.self, Incidents.self, Show.self, Ack.self, Resolve.self, Note.self, Escalate.self, SilenceCommand.self, Heartbeats.self, Report.self,
        ])

    /// Exit codes as DESIGN.md §5 fixes them: 0 success, 1 refused, 2 usage error.
    static func main() async {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            let arguments = Array(CommandLine.arguments.dropFirst())
            if let unknown = unknownCommand(arguments) ?? negativeID(arguments) { usageError(unknown) }
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
        do {
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch let error as ValidationError {
            // Found once the verb ran (a setting in the environment, `silence` with no verb):
            // its own words say what to do; the whole binary's usage after them did not.
            usageError(error.message)
        } catch {
            exit(withError: error)
        }
    }

    private static func usageError(_ message: String) -> Never {
        FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
        Foundation.exit(2)
    }

    /// A negative number where an id goes (`show -1`): ArgumentParser reads it as an option,
    /// and said only "Missing expected argument '<id>'" (black-box round 34). The value of
    /// an option (`--limit -1`) is left to the option's own error.
    static func negativeID(_ arguments: [String]) -> String? {
        for (i, word) in arguments.enumerated() where word.count > 1 && word.hasPrefix("-")
            && word.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }) && (i == 0 || !arguments[i - 1].hasPrefix("-")) {
            return "'\(word)' is not an id: ids are whole numbers from 1, such as 16"
        }
        return nil
    }

    /// A word where a command goes that is none of them: `alertbridge ak 1` said `2
    /// unexpected arguments: 'ak', '1'` (black-box round 34). `nil` when the words name
    /// commands as far as commands go.
    static func unknownCommand(_ arguments: [String]) -> String? {
        var command: any ParsableCommand.Type = AlertBridgeCommand.self
        var path = ["alertbridge"]
        for word in arguments {
            let commands = command.configuration.subcommands
            guard !commands.isEmpty, !word.hasPrefix("-") else { return nil }
            guard let next = commands.first(where: { $0._commandName == word || $0.configuration.aliases.contains(word) }) else {
                let names = commands.map { $0._commandName }.joined(separator: ", ")
                let parent = path.joined(separator: " ")
                return "'\(word)' is not a command of \(parent) (\(names)); see \(parent) --help"
            }
            command = next
            path.append(word)
        }
        return nil
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
