import Foundation

/// Where the store lives, from `store:` in alertbridge.yaml or `--store`.
public enum StoreLocation: Sendable, Equatable {
    /// `sqlite:alertbridge.db`: a file, the only kind (the writer and the readers each open
    /// it; an in-memory database would be a different one for each).
    case sqlite(path: String)
    /// `postgres://user:pass@host:5432/db[?sslmode=disable|prefer|require]` (or `postgresql://`).
    case postgres(PostgresLocation)

    /// Why a `store:` or `--store` value names no store, in the operator's words (never
    /// with a password in it).
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public init(parsing text: String) throws(StoreLocation.Invalid) {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw StoreLocation.Invalid("store \"\(text)\" names no file") }
            guard path != ":memory:", !path.hasPrefix("file:") else {
                throw StoreLocation.Invalid("store \"\(text)\" is not a file path; alertbridge keeps incidents in a file (sqlite:alertbridge.db)")
            }
            self = .sqlite(path: path)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(try PostgresLocation(parsing: text))
        } else {
            throw StoreLocation.Invalid("store \"\(text)\" is neither sqlite:FILE nor postgres://...")
        }
    }
}

/// A PostgreSQL server and database, parsed from a `postgres://` URL.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Equatable {
        /// Plain TCP (`sslmode=disable`, or no `sslmode`).
        case disable
        /// TLS when the server offers it, else plain (`sslmode=prefer` or `allow`).
        case prefer
        /// TLS or no connection; the certificate is verified (`require`, `verify-ca`, `verify-full`).
        case require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String,
                tls: TLSMode = .disable) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
    }

    public init(parsing text: String) throws(StoreLocation.Invalid) {
        // Say what is wrong without echoing a password into logs.
        let shown = passwordRedacted(text)
        guard let url = URLComponents(string: text), let scheme = url.scheme,
              ["postgres", "postgresql"].contains(scheme) else {
            throw StoreLocation.Invalid("store \"\(shown)\" is not a valid postgres://user:pass@host:5432/db URL")
        }
        // `[::1]` as PostgreSQL's own URLs write an IPv6 address: the address inside.
        guard let host = url.host.map({ $0.hasPrefix("[") && $0.hasSuffix("]") ? String($0.dropFirst().dropLast()) : $0 }),
              !host.isEmpty else {
            throw StoreLocation.Invalid("store \"\(shown)\" names no host")
        }
        let port = url.port ?? 5432
        guard (1...65_535).contains(port) else { throw StoreLocation.Invalid("store \"\(shown)\": port \(port) is out of range") }
        guard let user = url.user, !user.isEmpty else {
            throw StoreLocation.Invalid("store \"\(shown)\" names no user (postgres://USER@host/db)")
        }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw StoreLocation.Invalid("store \"\(shown)\" names no database (postgres://user@host:5432/DATABASE)")
        }
        var tls = TLSMode.disable
        for item in url.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("sslmode", "disable"): tls = .disable
            case ("sslmode", "allow"), ("sslmode", "prefer"): tls = .prefer
            case ("sslmode", "require"), ("sslmode", "verify-ca"), ("sslmode", "verify-full"): tls = .require
            case ("sslmode", let other):
                throw StoreLocation.Invalid("store \"\(shown)\": sslmode \"\(other)\" is not one of disable, allow, prefer, require, verify-ca, verify-full")
            case (let name, _):
                throw StoreLocation.Invalid("store \"\(shown)\": unknown parameter \"\(name)\" (only sslmode is supported)")
            }
        }
        self.init(host: host, port: port, username: user,
                  password: url.password, database: database.removingPercentEncoding ?? database,
                  tls: tls)
    }

    /// The URL without its password, for logs.
    public var description: String {
        "postgres://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)"
    }
}
