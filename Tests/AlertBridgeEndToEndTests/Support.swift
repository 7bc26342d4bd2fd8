import Foundation
import TestProcesses
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plain HTTP requests, for alertbridge's API and Alertmanager's.
enum HTTP {
    struct Response: Sendable {
        var status: Int
        var body: Data

        var text: String { String(decoding: body, as: UTF8.self) }

        func expect(_ expected: Int, _ what: String = "request") throws {
            guard status == expected else {
                throw E2EError("\(what): expected HTTP \(expected), got \(status): \(text)")
            }
        }
    }

    private static let session = URLSession(configuration: .ephemeral)

    static func send(_ method: String, _ url: String, body: Data? = nil, token: String? = nil) async throws -> Response {
        guard let target = URL(string: url) else { throw E2EError("invalid URL \(url)") }
        var request = URLRequest(url: target, timeoutInterval: 10)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = body
        }
        let (data, response) = try await session.data(for: request)
        return Response(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: data)
    }
}

/// Thrown by a probe of ``eventually(_:timeout:every:_:)`` to stop polling at once.
struct StopPolling: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `probe` until it returns a value or `timeout` passes; the error names `what`
/// and the last thing `probe` saw (its error, or the state it reported through `observed`).
@discardableResult
func eventually<T>(
    _ what: String, timeout: Duration = .seconds(60), every interval: Duration = .milliseconds(200),
    _ probe: (_ observed: inout String) async throws -> T?
) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    var observed = "nothing yet"
    while true {
        do {
            if let value = try await probe(&observed) { return value }
        } catch let stop as StopPolling {
            throw stop
        } catch {
            observed = "error: \(error)"
        }
        guard clock.now < deadline else {
            throw E2EError("timed out after \(timeout) waiting for \(what); last seen: \(observed)")
        }
        try await Task.sleep(for: interval)
    }
}

/// A child process's result.
struct ProcessResult: Sendable, CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

/// Runs an executable to completion (killed after `timeout`), capturing its output in
/// files so that neither pipe can fill up and block it.
func run(
    _ executable: String, _ arguments: [String], environment: [String: String],
    timeout: Duration = .seconds(60)
) async throws -> ProcessResult {
    let directory = try TemporaryDirectory("alertbridge-e2e-run")
    defer { directory.remove() }
    let outPath = directory.path("stdout"), errPath = directory.path("stderr")
    let child = try ChildProcess.start(executable, arguments, environment: environment, output: outPath, errors: errPath)
    let watchdog = Task.detached {
        try await Task.sleep(for: timeout)
        child.signal(SIGKILL)
    }
    // A test cancelled while the child runs stops it.
    let termination = await withTaskCancellationHandler { await child.wait() } onCancel: { child.signal(SIGKILL) }
    watchdog.cancel()
    try Task.checkCancellation()
    return ProcessResult(
        status: termination.status,
        stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
}

