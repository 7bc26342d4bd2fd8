import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP port on 127.0.0.1 that nothing listens on right now, for a server the test starts
/// as a separate process (which is told a port, not asked for one).
///
/// Picked at random below the kernel's ephemeral range, not by binding port 0: a port the
/// kernel hands out for port 0 is also one it hands out as the local port of the next
/// outgoing connection, and the tests make thousands, so between this check and the
/// server's bind a client socket could take it ("address already in use").
public func freeLocalPort() throws -> Int {
    let ephemeral = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))
        .flatMap { $0.split(whereSeparator: \.isWhitespace).first }.flatMap { Int($0) } ?? 32768
    let below = max(ephemeral, 10_000) - 1
    for _ in 1...200 {
        guard let (fd, port) = try? boundLoopbackSocket(port: Int.random(in: 5000...below)) else { continue }
        closeSocket(fd)
        return port
    }
    throw PortError("no free port on 127.0.0.1 below \(below + 1) in 200 tries")
}

/// A port on 127.0.0.1 that something else listens on, until ``close()``: taken, as by
/// another server.
public struct ListeningSocket {
    public let port: Int
    private let fd: Int32

    public init() throws {
        (fd, port) = try boundLoopbackSocket()
        guard listen(fd, 1) == 0 else {
            let error = errno
            closeSocket(fd)
            throw PortError("listen() failed: errno \(error)")
        }
    }

    /// A client connected and waits to be accepted (nothing here ever accepts or answers,
    /// so a client's request hangs until its own timeout).
    public var hasCaller: Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 1 && entry.revents & Int16(POLLIN) != 0
    }

    public func close() { closeSocket(fd) }
}

/// A TCP socket bound to 127.0.0.1 at `port` (0: the kernel's pick), and that port.
private func boundLoopbackSocket(port: Int = 0) throws -> (fd: Int32, port: Int) {
    #if os(Linux)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw PortError("socket() failed: errno \(errno)") }
    func failed(_ call: String) -> PortError {
        let error = errno
        closeSocket(fd)
        return PortError("\(call)() failed: errno \(error)")
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
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

/// Why no port could be had.
public struct PortError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
