/// An SMTP server's refusal, said as an operator reads it on the timeline: what was
/// refused and the server's own reply (`MAIL FROM refused: 530 5.7.0 Authentication
/// required`), instead of libcurl's `MAIL failed: 530` with the reply tacked on.
struct SMTPRefusal: Equatable {
    /// What a reply answers.
    enum Step: Equatable {
        /// The server's greeting, before anything was sent.
        case greeting
        /// A command: `MAIL FROM`, `RCPT TO`, `DATA`, `AUTH`, `STARTTLS`, `EHLO`, ...
        case command(String)
        /// The message itself, sent after `DATA`'s 354.
        case message
    }

    var step: Step
    /// The server's reply line, such as `451 4.7.1 Greylisted, try again later`.
    var reply: String

    /// The commands a refusal can name, as a session sends them.
    static let commands = ["MAIL FROM", "RCPT TO", "DATA", "AUTH", "STARTTLS", "EHLO", "HELO", "RSET", "QUIT"]

    /// The command a line sent starts with; `nil` for a line that is none (the encoded
    /// credentials of an AUTH exchange, which are never kept).
    static func command(_ line: String) -> String? {
        let upper = line.uppercased()
        return commands.first { command in
            upper == command || upper.hasPrefix(command + " ") || upper.hasPrefix(command + ":")
        }
    }

    /// - Parameters:
    ///   - refused: the recipients the server refused in this session, with their replies.
    ///   - recipients: how many the message was addressed to. libcurl gives up at `RCPT TO`
    ///     only when it refused every one; the timeline names each with its reply.
    func text(refused: [RefusedRecipient], of recipients: Int) -> String {
        switch step {
        case .greeting:
            return "the server refused the connection: \(reply)"
        case .message:
            return "the server refused the message: \(reply)"
        case .command("RCPT TO") where !refused.isEmpty && refused.count >= recipients:
            return "the server refused every recipient: " + refused.map(\.description).joined(separator: ", ")
        case .command(let command):
            return "\(command) refused: \(reply)"
        }
    }
}
