import AlertBridgeCore
import AlertBridgeNotify
import ArgumentParser
import Foundation

/// Talks to a running server for the operator verbs: `ALERTBRIDGE_URL` (default
/// `http://127.0.0.1:8080`), `ALERTBRIDGE_TOKEN` and `ALERTBRIDGE_TIMEOUT`.
struct APIClient {
    var baseURL: String
    var token: String?
    /// How long one request may take, from connecting to the answer's last byte.
    var timeout: Duration
    /// libcurl, as the connectors use: it waits for the answer in `poll`. Linux's
    /// URLSession spun a core while it waited, and a few commands run at once on a
    /// two-core server host starved alertbridge itself of the CPU for its database calls.
    private let transport: CurlTransport

    /// `ALERTBRIDGE_TIMEOUT` when not set: a server that takes the connection and never
    /// answers (hung, or a firewall accepting for it) must not hold a shell for good.
    static let defaultTimeout = Duration.seconds(30)

    /// `ALERTBRIDGE_URL` without a trailing `/`: the server every message names.
    static var configuredURL: String {
        var base = ProcessInfo.processInfo.environment["ALERTBRIDGE_URL"] ?? "http://127.0.0.1:8080"
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    static func fromEnvironment() throws -> APIClient {
        let env = ProcessInfo.processInfo.environment
        var timeout = defaultTimeout
        if let text = env["ALERTBRIDGE_TIMEOUT"], !text.isEmpty {
            guard let parsed = DurationText.parse(text), parsed >= .seconds(1), parsed <= .seconds(3600) else {
                throw ValidationError("ALERTBRIDGE_TIMEOUT must be a duration from 1s to 1h, such as 10s or 2m")
            }
            timeout = parsed
        }
        // A usage error (exit 2), as a bad ALERTBRIDGE_TIMEOUT is: `127.0.0.1:8080` without
        // its scheme, or an `ftp://` URL, can never reach alertbridge.
        let url = configuredURL
        guard ["http://", "https://"].contains(where: url.lowercased().hasPrefix), URL(string: url)?.host != nil else {
            throw ValidationError("ALERTBRIDGE_URL must be an http:// or https:// URL such as http://127.0.0.1:8080, got \"\(passwordRedacted(url))\"")
        }
        return APIClient(baseURL: url, token: try token(env["ALERTBRIDGE_TOKEN"]), timeout: timeout)
    }

    /// `ALERTBRIDGE_TOKEN` without the white space around it (a token file saved with
    /// Windows line endings kept its `\r`, and the server's 400 read as a wrong URL), and
    /// refused when a control character is left inside, which would have gone into the
    /// request as a header line of its own (black-box round 28).
    static func token(_ text: String?) throws -> String? {
        guard let token = text?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else { return nil }
        guard !token.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ValidationError("ALERTBRIDGE_TOKEN holds a line break or another control character inside it; set it to the token alone")
        }
        return token
    }

    /// `baseURL` as messages show it: a password in it (`http://user:secret@host`) is `***`,
    /// where every refusal printed it (black-box round 28).
    var shownURL: String { passwordRedacted(baseURL) }

    init(baseURL: String, token: String?, timeout: Duration) {
        self.baseURL = baseURL
        self.token = token
        self.timeout = timeout
        transport = CurlTransport(connectTimeout: timeout, totalTimeout: timeout, userAgent: "alertbridge-cli")
    }

    /// Sends a request; returns the body of a 2xx answer or throws a one-line ``Refused``.
    func send(_ method: String, _ path: String, body: (any Encodable)? = nil) async throws -> Data {
        guard URL(string: baseURL + path) != nil else { throw Refused("invalid ALERTBRIDGE_URL \(shownURL)") }
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        var bytes: [UInt8]?
        if let body {
            headers.append(("Content-Type", "application/json"))
            bytes = Array(try JSONEncoder().encode(body))
        }
        let response: HTTPResponse
        do {
            // A storm incident's `show` is megabytes; only memory bounds what a person asked for.
            response = try await transport.request(method, url: baseURL + path, headers: headers, body: bytes,
                                                   maxResponseBytes: Int.max)
        } catch {
            throw unanswered(error, method: method)
        }
        let data = Data(response.body)
        let status = response.status
        let type = response.headers["content-type"]
        guard (200..<300).contains(status) else {
            let body = try? JSONDecoder().decode(ErrorBody.self, from: data)
            if let refusal = authRefusal(status: status, serverSays: body?.error) { throw refusal }
            guard let body else { throw notAlertbridge(status: status, type: type, location: response.headers["location"]) }
            var refused = Refused(body.field.map { "\($0): \(body.error)" } ?? body.error)
            refused.aboutTheTarget = status == 404 || status == 409
            // A path the server does not have: ALERTBRIDGE_URL with a path of its own
            // (`http://host/alertbridge`) asks for `/alertbridge/api/v1/…`. About the
            // address, not one incident: `ack 1 2` stops at the first.
            if status == 404, body.field == nil, body.error.hasPrefix("no route for ") {
                refused = Refused("\(body.error): is ALERTBRIDGE_URL (\(shownURL)) alertbridge's own address?")
            }
            throw refused
        }
        guard type?.lowercased().contains("json") == true else { throw notAlertbridge(status: status, type: type) }
        return data
    }

    /// Every answer of alertbridge, a refusal too, is its JSON: anything else is another
    /// server on that address or a proxy's own page. It must not end in a decoding error's
    /// dump, nor read as a refusal of one incident (a 404 page would let `ack 8 10 12` go on).
    private func notAlertbridge(status: Int, type: String?, location: String? = nil) -> Refused {
        // Redirects are not followed (a POST would lose its body): say where it pointed.
        if (300..<400).contains(status), let location {
            return Refused("the server at \(shownURL) redirects (HTTP \(status)) to \(location): set ALERTBRIDGE_URL to alertbridge's own address")
        }
        if [502, 503, 504].contains(status) {
            return Refused("the server at \(shownURL) (or a proxy in front of it) answered HTTP \(status): alertbridge behind it may be down or restarting")
        }
        return Refused("the server at \(shownURL) does not answer as alertbridge does (HTTP \(status), \(type ?? "no Content-Type")): is ALERTBRIDGE_URL right?")
    }

    /// No answer, in an operator's words rather than libcurl's (`Failed to connect to
    /// 127.0.0.1 port 8080 after 0 ms: Couldn't connect to server`).
    private func unanswered(_ error: TransportError, method: String) -> Refused {
        let why: String
        switch error.kind {
        case .timeout where method == "GET": return Refused("no answer from alertbridge at \(shownURL) within \(DurationText.format(timeout))")
        case .timeout:
            // A server that is slow, not gone, may still act on it (black-box round 34).
            return Refused("no answer from alertbridge at \(shownURL) within \(DurationText.format(timeout)); "
                           + "the action may have been taken: check with alertbridge show")
        case .connect: why = "connection refused"
        case .resolve: why = "no such host"
        case .dropped where method == "GET":
            return Refused("the connection to alertbridge at \(shownURL) closed before an answer (\(error.message)); try again")
        case .dropped:
            // The request went out: an `escalate` run again would page the tier after next.
            return Refused("the connection to alertbridge at \(shownURL) closed before an answer (\(error.message)); "
                           + "the action may have been taken: check with alertbridge show")
        default: why = error.message
        }
        return Refused("cannot reach alertbridge at \(shownURL): \(why)")
    }

    /// A 401 or 403 in the CLI's terms: the server's own words name an HTTP header, but
    /// what an operator can change is `ALERTBRIDGE_TOKEN`. Every verb needs `operate`.
    private func authRefusal(status: Int, serverSays: String?) -> Refused? {
        let fix = "a token with the operate scope"
        switch (status, token) {
        case (401, nil):
            return Refused("this server needs a token: set ALERTBRIDGE_TOKEN to \(fix)")
        case (401, _):
            return Refused("the server does not accept ALERTBRIDGE_TOKEN (\(serverSays ?? "HTTP 401")): set it to \(fix)")
        case (403, _):
            return Refused("ALERTBRIDGE_TOKEN may not do this (\(serverSays ?? "HTTP 403")): set it to \(fix)")
        default:
            return nil
        }
    }

    private struct ErrorBody: Decodable {
        var error: String
        var field: String?
    }
}
