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

    /// Whether a reply line has more lines after it (`550-5.7.1 …`; the last says `550 …`).
    static func continues(_ line: String) -> Bool {
        line.utf8.count > 3 && line.utf8.dropFirst(3).first == UInt8(ascii: "-")
    }

    /// One reply from its lines. A multi-line refusal is said whole, with its code and its
    /// enhanced status code once: its first line alone is half a sentence, and its last is
    /// often only a help URL. The code is the last line's, which libcurl acts on.
    static func reply(_ lines: [String]) -> String {
        guard lines.count > 1, let last = lines.last else { return lines.first ?? "" }
        var texts = lines.map { String($0.dropFirst(4)) }
        // `5.7.1` repeated at the start of every line.
        if let status = texts[0].split(separator: " ", maxSplits: 1).first, status.first == last.first, status.contains(".") {
            for i in texts.indices.dropFirst() where texts[i].hasPrefix(status + " ") {
                texts[i].removeFirst(status.count + 1)
            }
        }
        return DeliveryClassifier.excerpt(Array((last.prefix(3) + " " + texts.joined(separator: " ")).utf8), limit: 400)
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
