import AlertBridgeCore
import AlertBridgeNotify
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A local stand-in for Slack, Teams or a webhook receiver: an in-process Hummingbird
/// server on 127.0.0.1 that records every request and answers from a script.
final class HTTPReceiver: Sendable {
    struct Request: Sendable {
        var path: String
        /// Lower-case names.
        var headers: [String: String]
        var body: [UInt8]

        var json: JSONValue? { try? JSONValue.decode(body) }
    }

    struct Answer: Sendable {
        var status: Int
        var headers: [String: String] = [:]
        var body: String = "ok"
        /// Wait this long before answering.
        var delay: Duration? = nil
        /// Answer only once this gate is open.
        var gate: Gate? = nil
    }

    private let recorded = Mutex<[Request]>([])
    private let scripts = Mutex<[String: [Answer]]>([:])
    let log: EventLog

    init(log: EventLog = EventLog()) { self.log = log }

    var requests: [Request] { recorded.withLock { $0 } }
    func requests(to path: String) -> [Request] { requests.filter { $0.path == path } }

    /// The next answers for `path`, in order; once used up, 200 `ok`.
    func script(_ path: String, _ answers: [Answer]) {
        scripts.withLock { $0[path, default: []] += answers }
    }

    private func answer(_ request: Request) async -> Response {
        recorded.withLock { $0.append(request) }
        log.append("received \(request.path)")
        let next = scripts.withLock { $0[request.path]?.isEmpty == false ? $0[request.path]!.removeFirst() : nil }
        let answer = next ?? Answer(status: 200)
        if let delay = answer.delay { try? await Task.sleep(for: delay) }
        await answer.gate?.wait()
        var fields = HTTPFields()
        for (name, value) in answer.headers { fields[HTTPField.Name(name)!] = value }
        log.append("answered \(request.path)")
        return Response(status: .init(code: answer.status), headers: fields,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
    }

    /// Runs a receiver on `port` (0: a free one) for the duration of `body`.
    static func with<T: Sendable>(port: Int = 0, receiver: HTTPReceiver = HTTPReceiver(),
                                  _ body: (HTTPReceiver, _ baseURL: String) async throws -> T) async throws -> T {
        var logger = Logger(label: "receiver")
        logger.logLevel = .warning
        let router = Router()
        router.post("**") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            return await receiver.answer(Request(path: request.uri.path, headers: headers,
                                                 body: Array(bytes.readableBytesView)))
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? port) },
                              logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { continuation.finish() }
                try await group.run()
            }
            var iterator = ports.makeAsyncIterator()
            guard let bound = await iterator.next() else {
                try await tasks.waitForAll()
                throw TestFailure("the receiver stopped before it was listening")
            }
            let result: T
            do {
                result = try await body(receiver, "http://127.0.0.1:\(bound)")
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }

    /// A port nothing listens on (connection refused), found by binding one and letting it
    /// go, for a receiver that comes back on it later. Below Linux's ephemeral range
    /// (32768 and up), so that no other test's connection takes it as its source port
    /// meanwhile.
    static func closedPort() async throws -> Int {
        for _ in 0..<50 {
            let port = Int.random(in: 20_000..<32_000)
            if (try? await with(port: port, { _, _ in })) != nil { return port }
        }
        throw BindFailure()
    }

    struct BindFailure: Error {}
}
