import AlertBridgeCore
import ArgumentParser
import Foundation
import Hummingbird
import Logging

/// The ceiling of the HTTP stack: Hummingbird routes that do only part of what
/// `POST /api/v1/alerts` does, so the ingest numbers can be read against them.
///
/// - `POST /noop` collects the body and answers 202.
/// - `POST /decode` also decodes it with `JSONDecoder` into a mirror of the native
///   alert array (same field types as the real ingest, `Timestamp` parsing included)
///   and answers 202.
struct Ceiling: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the no-op and decode-only ceiling routes on 127.0.0.1.")

    @Option(help: "Port to listen on (127.0.0.1 only).")
    var port: Int

    @Option(help: "Largest request body accepted, in bytes.")
    var maxBodyBytes = 1 << 20

    func run() async throws {
        var logger = Logger(label: "alertbridge-bench")
        logger.logLevel = .warning
        let limit = maxBodyBytes
        let router = Router()
        router.post("/noop") { request, _ -> Response in
            _ = try await request.body.collect(upTo: limit)
            return Response(status: .accepted)
        }
        router.post("/decode") { request, _ -> Response in
            let body = try await request.body.collect(upTo: limit)
            let alerts = try Self.decoder.decode([NativeAlertMirror].self, from: Data(body.readableBytesView))
            return Response(status: alerts.isEmpty ? .badRequest : .accepted)
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "alertbridge-bench"),
            logger: logger)
        try await app.runService()
    }

    private static let decoder = JSONDecoder()
}

/// The native alert of DESIGN.md §3, field for field as the ingest route decodes it.
struct NativeAlertMirror: Decodable {
    var source: String?
    var status: String?
    var severity: String?
    var summary: String?
    var labels: [String: String]
    var annotations: [String: String]?
    var dedup_key: String?
    var starts_at: Timestamp?
    var ends_at: Timestamp?
    var value: Double?
    var threshold: Double?
}
