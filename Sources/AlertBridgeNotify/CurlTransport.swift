import CCurl
import Foundation
import Synchronization

/// An HTTP answer as the connectors need it.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    /// Header names in lower case; a repeated header keeps its last value.
    public var headers: [String: String]
    /// At most ``CurlTransport/maxResponseBytes`` of the body.
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Why a transfer did not complete, as libcurl reported it.
public struct TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Connection refused, host unreachable: nothing was sent.
        case connect
        /// The connection closed or was reset before a whole answer came: the request may
        /// have been taken (a server that committed, then restarted).
        case dropped
        /// The host name did not resolve.
        case resolve
        /// The connect or total timeout passed.
        case timeout
        /// TLS was required (`starttls: required`) but the server does not offer it.
        case tlsUnavailable
        /// The TLS handshake failed.
        case tlsHandshake
        /// The server's certificate did not verify.
        case tlsVerify
        /// The server refused the credentials.
        case loginDenied
        /// The server answered something other than success (an SMTP reply, a broken reply).
        case rejected
        /// The URL or a setting is unusable; trying again cannot help.
        case invalidRequest
        /// The task waiting for the transfer was cancelled.
        case cancelled
        case other
    }

    public var kind: Kind
    /// What went wrong: for an SMTP server's refusal, what it refused and its own reply
    /// (``SMTPRefusal``); otherwise libcurl's message.
    public var message: String
    /// The last SMTP reply code (or HTTP status) seen, when there was one.
    public var responseCode: Int?

    public init(_ kind: Kind, _ message: String, responseCode: Int? = nil) {
        self.kind = kind
        self.message = message
        self.responseCode = responseCode
    }

    public var description: String { message }
}

/// How an SMTP connection is secured.
public enum StartTLS: String, Sendable, CaseIterable {
    /// Plain text, even if the server offers STARTTLS.
    case none
    /// STARTTLS when the server offers it, else plain text; with a username or password,
    /// STARTTLS or fail: credentials are never sent in plain text, where anyone who strips
    /// the server's STARTTLS offer reads them (black-box round 28; Alertmanager's
    /// `require_tls` is on by default). `none` sends them so, on a link trusted for it.
    case optional
    /// STARTTLS or fail; the page is not sent in plain text.
    case required
}

/// One email to hand to an SMTP server.
public struct MailEnvelope: Sendable, Equatable {
    /// `smtp://host:port` or `smtps://host:port`.
    public var url: String
    /// The bare address for `MAIL FROM`.
    public var from: String
    /// The bare addresses for `RCPT TO`.
    public var recipients: [String]
    /// The whole RFC 5322 message, CRLF line endings. libcurl dot-stuffs it.
    public var message: [UInt8]
    public var username: String?
    public var password: String?
    public var startTLS: StartTLS

    public init(url: String, from: String, recipients: [String], message: [UInt8], username: String? = nil,
                password: String? = nil, startTLS: StartTLS = .optional) {
        self.url = url
        self.from = from
        self.recipients = recipients
        self.message = message
        self.username = username
        self.password = password
        self.startTLS = startTLS
    }
}

/// SMTP and HTTP(S) through libcurl's easy interface.
///
/// libcurl's easy calls block, so each transfer runs on a thread of its own, never on
/// a Swift concurrency or NIO event-loop thread; the calling task just awaits it.
/// The dispatcher bounds how many deliveries run at once, which bounds the threads.
/// Cancelling the awaiting task aborts the transfer at libcurl's next progress check.
public struct CurlTransport: Sendable {
    public var connectTimeout: Duration
    /// For the whole transfer: connecting, TLS, sending and the answer.
    public var totalTimeout: Duration
    /// A PEM file of CA certificates to trust instead of the system's (tests use a
    /// self-signed one). Certificates are always verified.
    public var caFile: String?
    public var userAgent: String

    public static let maxResponseBytes = 64 * 1024

    public init(connectTimeout: Duration = .seconds(5), totalTimeout: Duration = .seconds(20), caFile: String? = nil,
                userAgent: String = "alertbridge") {
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.caFile = caFile
        self.userAgent = userAgent
    }

    /// POSTs `body` and returns whatever status the server answered; throws only when
    /// there was no HTTP answer at all. The answer's body is cut at ``maxResponseBytes``
    /// (a receiver's reply is only ever quoted in an error).
    public func post(url: String, headers: [(String, String)], body: [UInt8]) async throws(TransportError) -> HTTPResponse {
        try await request("POST", url: url, headers: headers, body: body, maxResponseBytes: Self.maxResponseBytes)
    }

    /// Any HTTP request (`GET`, `POST`, `DELETE`, …; a body only when given), answered as
    /// ``post(url:headers:body:)`` is, with up to `maxResponseBytes` of the answer's body.
    /// The CLI's client too: libcurl waits in `poll`, where Linux's URLSession spun a core
    /// for as long as a server took to answer.
    public func request(_ method: String, url: String, headers: [(String, String)], body: [UInt8]?,
                        maxResponseBytes: Int) async throws(TransportError) -> HTTPResponse {
        let headers = headers.map { HeaderField(name: $0.0, value: $0.1) }
        let result = await Self.runOnThread { cancelled in
            self.performRequest(method, url: url, headers: headers, body: body, maxResponseBytes: maxResponseBytes,
                                cancelled: cancelled)
        }
        return try result.get()
    }

    /// Hands one message to an SMTP server; returns when the server accepted it, with the
    /// recipients it refused while it took the message for the others (each with its reply).
    @discardableResult
    public func send(_ mail: MailEnvelope) async throws(TransportError) -> [RefusedRecipient] {
        let result = await Self.runOnThread { cancelled in
            self.performSend(mail, cancelled: cancelled)
        }
        return try result.get()
    }

    // MARK: Threads

    private struct HeaderField: Sendable {
        var name: String
        var value: String
    }

    /// Runs `work` on a new thread; sets the flag it gets when the awaiting task is cancelled.
    private static func runOnThread<T: Sendable>(_ work: @escaping @Sendable (Flag) -> T) async -> T {
        _ = globalInit
        let cancelled = Flag()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
                let thread = Thread { continuation.resume(returning: work(cancelled)) }
                thread.name = "alertbridge-curl"
                thread.start()
            }
        } onCancel: {
            cancelled.set()
        }
    }

    /// `curl_global_init` is not thread-safe and must run once, before any other call.
    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK

    final class Flag: Sendable {
        private let value = Atomic(false)
        func set() { value.store(true, ordering: .relaxed) }
        var isSet: Bool { value.load(ordering: .relaxed) }
    }

    // MARK: Transfers (on the transfer's own thread)

    /// What the callbacks of one transfer write into; lives for the transfer.
    private final class TransferState {
        let cancelled: Flag
        var body: [UInt8] = []
        /// How much of an HTTP answer's body is kept.
        var maxBody = CurlTransport.maxResponseBytes
        var headers: [String: String] = [:]
        var upload: [UInt8] = []
        var uploadOffset = 0
        /// What the server's next reply answers.
        var step: SMTPRefusal.Step = .greeting
        /// The server's refusal (SMTP 4xx/5xx reply line) when it was the last word: a
        /// command sent after it means the session went on, and it is not why it failed.
        var refusal: SMTPRefusal?
        /// The address of the `RCPT TO` last sent, until the next command.
        var recipientAsked: String?
        /// Each recipient the server refused, with its reply.
        var refusedRecipients: [RefusedRecipient] = []
        /// The lines so far of a multi-line refusal (`550-…`), said whole at its last line.
        var replyLines: [String] = []

        init(cancelled: Flag) { self.cancelled = cancelled }
    }

    private func performRequest(_ method: String, url: String, headers: [HeaderField], body: [UInt8]?,
                                maxResponseBytes: Int, cancelled: Flag) -> Result<HTTPResponse, TransportError> {
        let state = TransferState(cancelled: cancelled)
        state.maxBody = maxResponseBytes
        var list: UnsafeMutablePointer<curl_slist>?
        // No `Expect: 100-continue` round trip before the body.
        for line in headers.map({ "\($0.name): \($0.value)" }) + ["Expect:"] {
            list = curl_slist_append(list, line)
        }
        defer { curl_slist_free_all(list) }
        return transfer(state, url: url) { handle, context, errorBuffer in
            if let body = body ?? (method == "POST" ? [] : nil) {
                _ = ab_setopt_long(handle, CURLOPT_POST, 1)
                _ = ab_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
                // COPYPOSTFIELDS copies the body, so the buffer need not outlive this call.
                if body.isEmpty {
                    _ = ab_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, "")
                } else {
                    body.withUnsafeBytes { bytes in
                        _ = ab_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress!))
                    }
                }
            }
            // libcurl sends GET, or POST when it has a body (a POST always has one): any
            // other method, or GET with a body, by name.
            let curlsOwn = body == nil && method != "POST" ? "GET" : "POST"
            if method != curlsOwn { _ = ab_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method) }
            // HTTP only: a `file://` or `ftp://` URL is never fetched.
            _ = ab_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
            _ = ab_setopt_slist(handle, CURLOPT_HTTPHEADER, list)
            _ = ab_setopt_write_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, context in
                let state = Unmanaged<TransferState>.fromOpaque(context!).takeUnretainedValue()
                let n = size * count
                let room = state.maxBody - state.body.count
                if room > 0, let data {
                    data.withMemoryRebound(to: UInt8.self, capacity: n) { state.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: min(n, room))) }
                }
                return n
            }
            _ = ab_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
            _ = ab_setopt_write_callback(handle, CURLOPT_HEADERFUNCTION) { data, size, count, context in
                let state = Unmanaged<TransferState>.fromOpaque(context!).takeUnretainedValue()
                let n = size * count
                guard let data else { return n }
                let line = data.withMemoryRebound(to: UInt8.self, capacity: n) {
                    String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self)
                }
                if line.hasPrefix("HTTP/") {
                    state.headers = [:]  // a new response (after a 100 Continue, say)
                } else if let colon = line.firstIndex(of: ":") {
                    let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                    let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                    state.headers[name] = value
                }
                return n
            }
            _ = ab_setopt_pointer(handle, CURLOPT_HEADERDATA, context)

            let code = curl_easy_perform(handle)
            guard code == CURLE_OK else {
                return .failure(Self.failure(code, handle: handle, errorBuffer: errorBuffer, url: url, smtp: false))
            }
            var status = 0
            _ = ab_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            return .success(HTTPResponse(status: status, headers: state.headers, body: state.body))
        }
    }

    private func performSend(_ mail: MailEnvelope, cancelled: Flag) -> Result<[RefusedRecipient], TransportError> {
        let state = TransferState(cancelled: cancelled)
        state.upload = mail.message
        var recipients: UnsafeMutablePointer<curl_slist>?
        for address in mail.recipients { recipients = curl_slist_append(recipients, "<\(address)>") }
        defer { curl_slist_free_all(recipients) }
        return transfer(state, url: mail.url) { handle, context, errorBuffer in
            _ = ab_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(mail.from)>")
            _ = ab_setopt_slist(handle, CURLOPT_MAIL_RCPT, recipients)
            // One refused address (a colleague who left, a full mailbox) must not stop the
            // page for the others; libcurl still fails the transfer when every recipient is
            // refused. The dispatcher sends it again only to those refused for now (4xx).
            _ = ab_setopt_long(handle, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1)
            // Bounds each wait for a reply, also QUIT's at cleanup, which the total timeout does not cover.
            _ = ab_setopt_long(handle, CURLOPT_SERVER_RESPONSE_TIMEOUT, Int(max(1, totalTimeout.milliseconds / 1000)))
            if let username = mail.username { _ = ab_setopt_string(handle, CURLOPT_USERNAME, username) }
            if let password = mail.password { _ = ab_setopt_string(handle, CURLOPT_PASSWORD, password) }
            let level: curl_usessl = switch mail.startTLS {
            case .none: CURLUSESSL_NONE
            case .optional where mail.username != nil || mail.password != nil: CURLUSESSL_ALL
            case .optional: CURLUSESSL_TRY
            case .required: CURLUSESSL_ALL
            }
            _ = ab_setopt_long(handle, CURLOPT_USE_SSL, Int(level.rawValue))
            _ = ab_setopt_long(handle, CURLOPT_UPLOAD, 1)
            _ = ab_setopt_off(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(mail.message.count))
            _ = ab_setopt_read_callback(handle) { buffer, size, count, context in
                let state = Unmanaged<TransferState>.fromOpaque(context!).takeUnretainedValue()
                let n = min(size * count, state.upload.count - state.uploadOffset)
                guard n > 0, let buffer else { return 0 }
                state.upload.withUnsafeBytes { bytes in
                    UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + state.uploadOffset, byteCount: n)
                }
                state.uploadOffset += n
                return n
            }
            _ = ab_setopt_pointer(handle, CURLOPT_READDATA, context)
            // Keep the server's reply lines, so a rejection says what the server said, and
            // pair each refusal with the `RCPT TO` it answers (libcurl sends them one at a
            // time), so a refused address of several is named on the timeline.
            _ = ab_setopt_long(handle, CURLOPT_VERBOSE, 1)
            _ = ab_setopt_debug_callback(handle) { _, type, data, size, context in
                guard type == CURLINFO_HEADER_IN || type == CURLINFO_HEADER_OUT, let data, let context else { return 0 }
                let state = Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
                // One printable line (control characters, a NUL above all, would not store
                // in PostgreSQL nor show in a terminal), bounded as the HTTP answers are.
                let line = data.withMemoryRebound(to: UInt8.self, capacity: size) {
                    DeliveryClassifier.excerpt(Array(UnsafeBufferPointer(start: $0, count: min(size, 1024))))
                }
                if type == CURLINFO_HEADER_OUT {
                    state.recipientAsked = line.uppercased().hasPrefix("RCPT TO:")
                        ? String(line.dropFirst(8)).trimmingCharacters(in: CharacterSet(charactersIn: "<> ")) : nil
                    // An AUTH exchange's encoded credentials are no command: AUTH is still the step.
                    let command = SMTPRefusal.command(line)
                    if let command { state.step = .command(command) }
                    // A session that went on after a refusal did not fail of it; one that
                    // only said QUIT (libcurl does, closing after a failure) did.
                    if command != "QUIT" { state.refusal = nil }
                    state.replyLines = []  // a reply the server never finished answers nothing sent since
                } else if line.hasPrefix("354") {
                    state.step = .message
                } else if line.first == "4" || line.first == "5" {
                    // Only refusals (4xx, 5xx): the polite `221 Bye` after a refusal says nothing.
                    state.replyLines.append(line)
                    guard !SMTPRefusal.continues(line) else { return 0 }
                    let reply = SMTPRefusal.reply(state.replyLines)
                    state.replyLines = []
                    state.refusal = SMTPRefusal(step: state.step, reply: reply)
                    if let address = state.recipientAsked {
                        state.refusedRecipients.append(RefusedRecipient(address: address, reply: reply))
                        state.recipientAsked = nil
                    }
                }
                return 0
            }
            _ = ab_setopt_pointer(handle, CURLOPT_DEBUGDATA, context)

            let code = curl_easy_perform(handle)
            guard code == CURLE_OK else {
                let refusal = state.refusal?.text(refused: state.refusedRecipients, of: mail.recipients.count)
                var failure = Self.failure(code, handle: handle, errorBuffer: errorBuffer, url: mail.url, smtp: true, refusal: refusal)
                // Every recipient refused: libcurl's reply code is the last one's. One refused
                // for now (greylisted) makes the page worth sending again, in whatever order
                // the addresses came; the others are refused again until it is taken.
                if state.refusedRecipients.count >= mail.recipients.count,
                   let temporary = state.refusedRecipients.first(where: \.isTemporary) {
                    failure.responseCode = Int(temporary.reply.prefix(3))
                }
                return .failure(failure)
            }
            return .success(state.refusedRecipients)
        }
    }

    /// One transfer on a fresh easy handle with the options every transfer shares
    /// (``common(_:url:errorBuffer:context:)``); `body` sets its own, performs it and reads
    /// the outcome. The state and the error buffer live until the handle's cleanup, which
    /// may still talk to the server and call back (an SMTP session's QUIT).
    private func transfer<T>(
        _ state: TransferState, url: String,
        _ body: (_ handle: UnsafeMutableRawPointer, _ context: UnsafeMutableRawPointer, _ errorBuffer: UnsafeMutablePointer<CChar>)
            -> Result<T, TransportError>
    ) -> Result<T, TransportError> {
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }
        errorBuffer[0] = 0
        guard let handle = curl_easy_init() else { return .failure(TransportError(.other, "curl_easy_init failed")) }
        return withExtendedLifetime(state) {
            defer { curl_easy_cleanup(handle) }
            let context = Unmanaged.passUnretained(state).toOpaque()
            common(handle, url: url, errorBuffer: errorBuffer, context: context)
            return body(handle, context, errorBuffer)
        }
    }

    /// Options every transfer shares: URL, timeouts, TLS verification, no signals, cancellation.
    private func common(_ handle: UnsafeMutableRawPointer, url: String, errorBuffer: UnsafeMutablePointer<CChar>,
                        context: UnsafeMutableRawPointer) {
        _ = ab_setopt_string(handle, CURLOPT_URL, url)
        _ = ab_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        // Signals are process-wide; timeouts must not use them in a threaded program.
        _ = ab_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = ab_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(max(1, connectTimeout.milliseconds)))
        _ = ab_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(max(1, totalTimeout.milliseconds)))
        _ = ab_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1)
        _ = ab_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile { _ = ab_setopt_string(handle, CURLOPT_CAINFO, caFile) }
        _ = ab_setopt_string(handle, CURLOPT_USERAGENT, userAgent)
        _ = ab_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
        _ = ab_setopt_xferinfo_callback(handle) { context, _, _, _, _ in
            guard let context else { return 0 }
            return Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue().cancelled.isSet ? 1 : 0
        }
        _ = ab_setopt_pointer(handle, CURLOPT_XFERINFODATA, context)
    }

    /// - Parameters:
    ///   - smtp: only an SMTP reply code says whether trying again can help; an HTTP
    ///     transfer that failed got no usable answer, whatever status came before it broke.
    ///   - refusal: the SMTP server's refusal that ended the session, in its own words; it
    ///     says more than libcurl's `RCPT failed: 451 (last error)`, so it replaces it.
    private static func failure(_ code: CURLcode, handle: UnsafeMutableRawPointer, errorBuffer: UnsafeMutablePointer<CChar>,
                                url: String, smtp: Bool, refusal: String? = nil) -> TransportError {
        var responseCode = 0
        if smtp { _ = ab_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &responseCode) }
        let detail = String(cString: errorBuffer)
        var message = refusal ?? (detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        let kind: TransportError.Kind
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_PROXY:
            kind = responseCode >= 400 ? .rejected : .connect
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING:
            kind = responseCode >= 400 ? .rejected : .dropped
        case CURLE_COULDNT_RESOLVE_HOST: kind = .resolve
        case CURLE_OPERATION_TIMEDOUT: kind = .timeout
        case CURLE_USE_SSL_FAILED:
            kind = .tlsUnavailable
            message = "the server at \(redacted(url)) did not start TLS (it does not offer STARTTLS, or refused it) "
                + "and this connector requires it (starttls: required; or optional with a username, since credentials are "
                + "never sent in plain text: starttls: none sends them so): \(message)"
        case CURLE_SSL_CONNECT_ERROR: kind = .tlsHandshake
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR:
            kind = .tlsVerify
            message = "the server's TLS certificate did not verify: \(message)"
        case CURLE_LOGIN_DENIED: kind = .loginDenied
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_NOT_BUILT_IN, CURLE_BAD_FUNCTION_ARGUMENT:
            kind = .invalidRequest
        case CURLE_ABORTED_BY_CALLBACK:
            kind = .cancelled
            message = "cancelled (alertbridge is shutting down)"
        case CURLE_WEIRD_SERVER_REPLY, CURLE_QUOTE_ERROR, CURLE_UPLOAD_FAILED, CURLE_REMOTE_ACCESS_DENIED:
            kind = .rejected
        default: kind = .other
        }
        return TransportError(kind, message, responseCode: responseCode > 0 ? responseCode : nil)
    }

    /// A URL without user info, path or query: safe for a log or the timeline (webhook
    /// URLs carry their secret in the path).
    static func redacted(_ url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else {
            return "the configured URL"
        }
        return "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")"
    }
}
