import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Talks to a running server for the operator verbs: `ALERTBRIDGE_URL` (default
/// `http://127.0.0.1:8080`) and `ALERTBRIDGE_TOKEN`.
struct APIClient {
    var baseURL: String
    var token: String?

    static func fromEnvironment() -> APIClient {
        let env = ProcessInfo.processInfo.environment
        var base = env["ALERTBRIDGE_URL"] ?? "http://127.0.0.1:8080"
        while base.hasSuffix("/") { base.removeLast() }
        return APIClient(baseURL: base, token: env["ALERTBRIDGE_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
    }

    /// Sends a request; returns the body of a 2xx answer or throws a one-line ``Refused``.
    func send(_ method: String, _ path: String, body: (any Encodable)? = nil) async throws -> Data {
        guard let url = URL(string: baseURL + path) else { throw Refused("invalid ALERTBRIDGE_URL \(baseURL)") }
        var request = URLRequest(url: url, timeoutInterval: 30)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONEncoder().encode(body)
        }
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw Refused("cannot reach alertbridge at \(baseURL): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let body = try? JSONDecoder().decode(ErrorBody.self, from: data)
            if let refusal = authRefusal(status: status, serverSays: body?.error) { throw refusal }
            var refused = Refused(body.map { body in body.field.map { "\($0): \(body.error)" } ?? body.error } ?? "HTTP \(status)")
            refused.aboutTheTarget = status == 404 || status == 409
            throw refused
        }
        // Every answer of alertbridge is JSON: anything else is another server on that
        // address (or a proxy's page), which must not end in a decoding error's dump.
        let type = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type") ?? "no Content-Type"
        guard type.lowercased().contains("json") else {
            throw Refused("the server at \(baseURL) does not answer as alertbridge does (HTTP \(status), \(type)): is ALERTBRIDGE_URL right?")
        }
        return data
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
