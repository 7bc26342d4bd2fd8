import AlertBridgeCore
import AlertBridgeStore
import Foundation

/// The RFC 5322 email of a page: a pure function of (page, sender, time).
///
/// - Subject: ``PageText/subject(_:)``; anything but printable ASCII is sent as RFC 2047
///   encoded-words (`=?UTF-8?B?...?=`), each at most 75 characters, split between
///   characters, so Korean titles arrive intact.
/// - Body: ``PageText/body(_:)`` as UTF-8 `text/plain`, quoted-printable, CRLF lines:
///   7-bit safe through any server, readable in the raw for ASCII.
/// - Threading: the first page of an incident (step 1) has the incident's root
///   Message-ID `<incident-42@alertbridge.DOMAIN>`; every later page (next tier,
///   repeats, acknowledge and resolve notices) has its own Message-ID and points
///   `In-Reply-To` and `References` at the root, so mail clients show one thread per
///   incident. All derived from the incident id and the outbox row: nothing stored.
public struct MailMessage: Sendable, Equatable {
    public var messageID: String
    public var inReplyTo: String?
    /// The envelope recipients (`RCPT TO`).
    public var recipients: [String]
    /// The whole message, CRLF line endings.
    public var text: String

    /// `from` is the connector's `from`: `alerts@example.com` or `Alertbridge <alerts@example.com>`.
    public static func render(_ page: PageMessage, from: String, now: Timestamp) throws(DeliveryError) -> MailMessage {
        let sender = try address(in: from)
        let recipients = page.delivery.recipients
        guard !recipients.isEmpty else {
            throw .permanent("no recipients: give the policy target a \"to:\" list of email addresses")
        }
        for recipient in recipients where !EmailAddress.isValid(recipient) {
            throw .permanent("invalid recipient address \"\(sanitized(recipient))\"")
        }
        let domain = messageIDDomain(sender)
        let incident = page.incident.incident
        let root = rootMessageID(incident: incident.id, createdAt: incident.createdAt, domain: domain)
        let isRoot = isFirstPage(page.delivery)
        let id = isRoot ? root : pageMessageID(for: page.delivery, createdAt: incident.createdAt, domain: domain)

        var headers: [(String, String)] = [
            ("Date", date(now)),
            ("From", fromHeader(from, address: sender)),
            ("To", recipients.joined(separator: ", ")),
            ("Subject", PageText.subject(page)),
            ("Message-ID", id),
        ]
        if !isRoot {
            headers.append(("In-Reply-To", root))
            headers.append(("References", root))
        }
        headers += [
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Transfer-Encoding", "quoted-printable"),
            // RFC 3834: keeps vacation responders from answering a page.
            ("Auto-Submitted", "auto-generated"),
            ("X-Auto-Response-Suppress", "All"),
            ("X-Alertbridge-Incident", "\(page.incident.incident.id)"),
            ("X-Alertbridge-Event", page.delivery.event.rawValue),
        ]
        if page.incident.incident.severity == .critical && page.delivery.event != .resolved && page.delivery.event != .acknowledged {
            headers.append(("Importance", "high"))
        }
        var lines: [String] = []
        for (name, value) in headers {
            lines.append(name == "Subject" ? "Subject: " + encodeHeaderText(value, nameLength: 9) : fold(name, sanitized(value)))
        }
        let text = lines.joined(separator: "\r\n") + "\r\n\r\n" + quotedPrintable(PageText.body(page) + "\n")
        return MailMessage(messageID: id, inReplyTo: isRoot ? nil : root, recipients: recipients, text: text)
    }

    // MARK: Message-IDs

    /// Step 1 is the first page an incident ever gets (steps only grow, also across
    /// reopens); notices reuse the current step, so they are never the root.
    public static func isFirstPage(_ d: Delivery) -> Bool {
        d.step == 1 && !d.event.isNotice
    }

    /// The incident's id and creation time (milliseconds): ids start again at 1 in a new
    /// database (a staging copy, a move to PostgreSQL), and mail services such as Gmail
    /// hide a message whose Message-ID they have already seen.
    public static func rootMessageID(incident: Int64, createdAt: Timestamp, domain: String) -> String {
        "<incident-\(incident).\(createdAt.milliseconds)@alertbridge.\(domain)>"
    }

    /// Stable across retries of one outbox row, distinct between rows.
    public static func pageMessageID(for d: Delivery, createdAt: Timestamp, domain: String) -> String {
        "<incident-\(d.incidentID).\(createdAt.milliseconds).step-\(d.step).tier-\(d.tier).\(d.event.rawValue).\(d.id)@alertbridge.\(domain)>"
    }

    /// The sender's domain, for Message-IDs: unique to this deployment.
    static func messageIDDomain(_ address: String) -> String {
        let domain = address.split(separator: "@").last.map(String.init) ?? ""
        let clean = domain.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
        return clean.isEmpty ? "localhost" : clean.lowercased()
    }

    // MARK: Addresses

    /// The bare address of `Name <a@b>` or `a@b`.
    public static func address(in from: String) throws(DeliveryError) -> String {
        var text = from.trimmingCharacters(in: .whitespaces)
        if let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close {
            text = String(text[text.index(after: open)..<close])
        }
        guard EmailAddress.isValid(text) else { throw .permanent("invalid from address \"\(sanitized(from))\"") }
        return text
    }

    static func fromHeader(_ from: String, address: String) -> String {
        guard let open = from.lastIndex(of: "<") else { return address }
        let written = from[..<open].trimmingCharacters(in: .whitespaces)
        // Written as a quoted string already: its `\"` and `\\` are the characters, escaped once below.
        let name = written.count >= 2 && written.hasPrefix("\"") && written.hasSuffix("\"")
            ? String(written.dropFirst().dropLast()).replacingOccurrences(of: #"\\(.)"#, with: "$1", options: .regularExpression)
            : written.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        if name.isEmpty { return address }
        let display = needsEncoding(name) || name.contains(where: { "()<>[]:;@\\,.\"".contains($0) })
            ? (needsEncoding(name) ? encodedWords(name, firstLineRoom: 60).joined(separator: " ")
                : "\"\(name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"")
            : name
        return "\(display) <\(address)>"
    }

    // MARK: Header encoding

    /// Control characters (a CR or LF in an alert title could inject headers) become spaces.
    static func sanitized(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : $0 }))
    }

    static func needsEncoding(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || $0.value > 0x7e } || text.contains("=?")
    }

    /// The value of an unstructured header (the subject) after `Name: `: printable ASCII is
    /// folded at spaces; anything else becomes encoded-words, one per line. So does a word
    /// too long for a line of its own (a URL in a title): folding cannot break it, and a
    /// line over 998 characters is refused by SMTP servers (RFC 5322 §2.1.1).
    public static func encodeHeaderText(_ text: String, nameLength: Int) -> String {
        let clean = sanitized(text)
        let hasLongWord = clean.split(separator: " ").contains { $0.count > 76 }
        guard needsEncoding(clean) || hasLongWord else { return foldWords(clean, firstLineUsed: nameLength) }
        return encodedWords(clean, firstLineRoom: 76 - nameLength).joined(separator: "\r\n ")
    }

    /// `=?UTF-8?B?...?=` words (RFC 2047): each whole characters only, at most 75
    /// characters, and the line holding it at most 76 (§2).
    public static func encodedWords(_ text: String, firstLineRoom: Int = 66) -> [String] {
        let overhead = "=?UTF-8?B??=".count
        var words: [String] = []
        var chunk: [UInt8] = []
        func maxBytes(_ room: Int) -> Int { max(3, (min(75, room) - overhead) / 4 * 3) }
        var limit = maxBytes(firstLineRoom)
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > limit {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
                limit = maxBytes(75)  // continuation lines start with one space
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words
    }

    /// `Name: value`, folded at spaces to lines of at most 78 characters where possible.
    static func fold(_ name: String, _ value: String) -> String {
        "\(name): " + foldWords(value, firstLineUsed: name.count + 2)
    }

    static func foldWords(_ value: String, firstLineUsed: Int) -> String {
        var out = ""
        var used = firstLineUsed
        for (index, word) in value.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            if index == 0 {
                out += word
                used += word.count
            } else if used + 1 + word.count > 78 && used > 1 {
                out += "\r\n " + word
                used = 1 + word.count
            } else {
                out += " " + word
                used += 1 + word.count
            }
        }
        return out
    }

    // MARK: Body

    /// Quoted-printable (RFC 2045 §6.7) of UTF-8 text, `\n` lines to CRLF, lines at most 76.
    public static func quotedPrintable(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            if index > 0 { out += Array("\r\n".utf8) }
            let bytes = Array(line.utf8)
            var length = 0
            for (i, byte) in bytes.enumerated() {
                let last = i == bytes.count - 1
                let token: [UInt8]
                if (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 0x20 || byte == 0x09) && !last) {
                    token = [byte]
                } else {
                    token = [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0f)]]
                }
                // Leave room for the soft break `=` unless this token ends the line.
                if length + token.count > (last ? 76 : 75) {
                    out += Array("=\r\n".utf8)
                    length = 0
                }
                out += token
                length += token.count
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Date

    /// `Mon, 23 Nov 2026 18:05:00 +0000` (RFC 5322 §3.3), in UTC.
    public static func date(_ t: Timestamp) -> String {
        let seconds = t.milliseconds >= 0 ? t.milliseconds / 1000 : (t.milliseconds - 999) / 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = seconds - days * 86_400
        let (y, m, d) = RFC3339.civilFromDays(Int(days))
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][m - 1]
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(weekday), \(two(Int64(d))) \(month) \(y) \(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60)) +0000"
    }
}

/// Email through any SMTP server: `smtp://` with STARTTLS none, optional or required,
/// or `smtps://`; AUTH when a username and password are configured.
public struct SMTPConnector: Connector {
    public struct Settings: Sendable, Equatable {
        public var url: String
        /// `alerts@example.com` or `Alertbridge <alerts@example.com>`.
        public var from: String
        public var username: String?
        public var password: String?
        public var startTLS: StartTLS

        public init(url: String, from: String, username: String? = nil, password: String? = nil,
                    startTLS: StartTLS = .optional) {
            self.url = url
            self.from = from
            self.username = username
            self.password = password
            self.startTLS = startTLS
        }
    }

    public let settings: Settings
    let transport: CurlTransport
    let clock: any WallClock

    public init(settings: Settings, transport: CurlTransport = CurlTransport(), clock: any WallClock = SystemClock()) {
        self.settings = settings
        self.transport = transport
        self.clock = clock
    }

    public func deliver(_ page: PageMessage) async throws(DeliveryError) -> Delivered {
        let message = try MailMessage.render(page, from: settings.from, now: clock.now())
        let envelope = MailEnvelope(
            url: settings.url, from: try MailMessage.address(in: settings.from), recipients: message.recipients,
            message: Array(message.text.utf8), username: settings.username, password: settings.password,
            startTLS: settings.startTLS)
        do throws(TransportError) {
            return Delivered(refused: try await transport.send(envelope))
        } catch {
            throw DeliveryClassifier.classify(error)
        }
    }
}
