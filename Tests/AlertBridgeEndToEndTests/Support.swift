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
    _ what: String, timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(200),
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

/// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick for port 0).
func freeLocalPort() throws -> Int {
    let (fd, port) = try boundLoopbackSocket()
    closeSocket(fd)
    return port
}

/// A port on 127.0.0.1 that something else listens on, until ``close()``: taken, as by
/// another server.
struct ListeningSocket {
    let port: Int
    private let fd: Int32

    init() throws {
        (fd, port) = try boundLoopbackSocket()
        guard listen(fd, 1) == 0 else {
            let error = errno
            closeSocket(fd)
            throw E2EError("listen() failed: errno \(error)")
        }
    }

    func close() { closeSocket(fd) }
}

/// A TCP socket bound to 127.0.0.1 at the port the kernel picked, and that port.
private func boundLoopbackSocket() throws -> (fd: Int32, port: Int) {
    #if os(Linux)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw E2EError("socket() failed: errno \(errno)") }
    func failed(_ call: String) -> E2EError {
        let error = errno
        closeSocket(fd)
        return E2EError("\(call)() failed: errno \(error)")
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw failed("bind") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw failed("getsockname") }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

private func closeSocket(_ fd: Int32) {
    _ = close(fd)
}

