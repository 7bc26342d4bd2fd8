/// Where the server listens: `listen:` in alertbridge.yaml or `serve --listen`, read by
/// one parser so that the file and the flag take the same addresses.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `127.0.0.1:8080`, `[::1]:8080`. The host is required, so that listening on every
    /// interface is a written decision; port 0 (any free port) is refused, since neither
    /// the CLI nor a sender could find it.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            return nil
        }
        guard !host.isEmpty, !host.contains(" "), !portText.isEmpty, portText.allSatisfy(\.isASCII),
              portText.allSatisfy(\.isNumber), let port = Int(portText), (1...65535).contains(port)
        else { return nil }
        self.init(host: host, port: port)
    }

    /// Reachable from this machine only: `localhost`, `::1` or an IPv4 address in
    /// 127.0.0.0/8 (a host *name* such as `127.example.com` is not).
    public var isLoopback: Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in
            (1...3).contains(part.count) && part.allSatisfy { $0.isASCII && $0.isNumber } && Int(part).map { $0 <= 255 } == true
        }
    }

    /// `HOST:PORT` as `--listen` takes it back.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Without tokens anyone who reaches the server could post alerts and act on
    /// incidents, so only loopback is allowed then ("protected mode").
    public static let tokensNeeded = "anyone who reaches it could post alerts and act on incidents; configure tokens "
        + "in alertbridge.yaml (see alertbridge.example.yaml) or listen on 127.0.0.1"
}
