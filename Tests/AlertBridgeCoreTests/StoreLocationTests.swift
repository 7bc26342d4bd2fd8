import AlertBridgeCore
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

    @Test func descriptionHidesThePassword() throws {
        let location = try PostgresLocation(parsing: "postgres://ab:s3cret@h/db")
        #expect(!location.description.contains("s3cret"))
    }
}
