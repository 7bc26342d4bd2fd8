@testable import AlertBridgeCore
import Testing

@Suite struct StoreLocationTests {
    @Test func sqlite() throws {
        #expect(try StoreLocation(parsing: "sqlite:alertbridge.db") == .sqlite(path: "alertbridge.db"))
        #expect(throws: StoreLocation.Invalid.self) { try StoreLocation(parsing: "sqlite:") }
        // The writer and the readers each open the store: in memory, each would get its own.
        #expect(throws: StoreLocation.Invalid.self) { try StoreLocation(parsing: "sqlite::memory:") }
        #expect(throws: StoreLocation.Invalid.self) { try StoreLocation(parsing: "sqlite:file::memory:?cache=shared") }
    }

    @Test func postgresURLs() throws {
        #expect(try StoreLocation(parsing: "postgres://ab:s3cret@db.example.com:6432/alerts?sslmode=require")
            == .postgres(PostgresLocation(host: "db.example.com", port: 6432, username: "ab", password: "s3cret",
                                          database: "alerts", tls: .require)))
        #expect(try StoreLocation(parsing: "postgresql://ab@localhost/alerts")
            == .postgres(PostgresLocation(host: "localhost", port: 5432, username: "ab", database: "alerts", tls: .disable)))
        #expect(try PostgresLocation(parsing: "postgres://ab@h/db?sslmode=disable").tls == .disable)
        #expect(try PostgresLocation(parsing: "postgres://ab@h/db?sslmode=prefer").tls == .prefer)
        #expect(try PostgresLocation(parsing: "postgres://ab:p%40ss@h/db").password == "p@ss")
    }

    @Test func postgresRefusalsNameTheProblemWithoutThePassword() {
        for (url, words) in [
            ("postgres://ab:pw@h:5432", "names no database"),
            ("postgres://h:5432/db", "names no user"),
            ("postgres://ab:pw@h/db?sslmode=bogus", "sslmode"),
            ("postgres://ab:pw@h/db?timeout=3", "unknown parameter"),
        ] {
            do {
                _ = try StoreLocation(parsing: url)
                Issue.record("\(url) was accepted")
            } catch {
                #expect(error.description.contains(words), "\(error)")
                #expect(!error.description.contains(":pw@"), "\(error)")
            }
        }
    }

    /// A URL that does not parse still never shows its password (round 15: a port that is
    /// no number printed `u:hunter2@…`, and an unencoded `@` in a password most of it).
    @Test func refusalsHideThePasswordOfURLsThatDoNotParse() {
        for (url, password) in [("postgres://u:hunter2@127.0.0.1:notaport/db", "hunter2"),
                                ("postgres://postgres:p@ss/w:rd@127.0.0.1/db", "ss/w:rd")] {
            do {
                _ = try StoreLocation(parsing: url)
                Issue.record("\(url) was accepted")
            } catch {
                #expect(!error.description.contains(password) && error.description.contains("***"), "\(error)")
            }
        }
        #expect(passwordRedacted("postgres://u:pw@h:5432/db?sslmode=require") == "postgres://u:***@h:5432/db?sslmode=require")
        #expect(passwordRedacted("postgres://u@h/db") == "postgres://u@h/db")
    }

    /// `[::1]` as PostgreSQL writes an IPv6 address: connected to as `::1`.
    @Test func anIPv6AddressIsTheAddressInsideItsBrackets() throws {
        #expect(try PostgresLocation(parsing: "postgres://ab@[::1]:26432/alerts").host == "::1")
    }

    @Test func descriptionHidesThePassword() throws {
        let location = try PostgresLocation(parsing: "postgres://ab:s3cret@h/db")
        #expect(!location.description.contains("s3cret"))
    }
}
