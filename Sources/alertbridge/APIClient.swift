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
            let message = (try? JSONDecoder().decode(ErrorBody.self, from: data)).map { body in
                body.field.map { "\($0): \(body.error)" } ?? body.error
            } ?? "HTTP \(status)"
            throw Refused(message)
        }
        return data
    }

    private struct ErrorBody: Decodable {
        var error: String
        var field: String?
    }
}
