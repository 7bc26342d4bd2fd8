import AlertBridgeCore
import AlertBridgeServer
import ArgumentParser
import Hummingbird
import Logging

/// The ceiling of the HTTP stack: Hummingbird routes that do only part of what
/// `POST /api/v1/alerts` does, so the ingest numbers can be read against them.
///
/// - `POST /noop` collects the body and answers 202.
/// - `POST /decode` also decodes it with alertbridge's own ingest decoder
///   (``IngestJSON/nativeAlerts(from:limits:)``: parsing, validation and fingerprints,
///   with the default limits) and answers 202, or 400 when the body is not alerts.
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
        let limits = IngestLimits()
        let router = Router()
        router.post("/noop") { request, _ -> Response in
            _ = try await request.body.collect(upTo: limit)
            return Response(status: .accepted)
        }
        router.post("/decode") { request, _ -> Response in
            let body = try await request.body.collect(upTo: limit)
            do {
                _ = try IngestJSON.nativeAlerts(from: body, limits: limits)
                return Response(status: .accepted)
            } catch {
                return Response(status: .badRequest)
            }
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "alertbridge-bench"),
            logger: logger)
        try await app.runService()
    }
}
