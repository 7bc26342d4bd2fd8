import Logging
import PostgresNIO

/// A statement PostgreSQL parses once per connection and then runs from its cached
/// plan. An unnamed statement is parsed, analysed and planned again on every execution:
/// on the ingest and delivery paths that was a third of the database's CPU. Rare
/// statements (operator actions, listings, migrations) stay unnamed.
///
/// Each statement is a type (PostgresNIO names and prepares statements by type):
/// ```swift
/// enum MarkResolved: PreparedSQL { static let sql = "UPDATE alerts SET … WHERE incident_id = ANY($1::bigint[])" }
/// try await db.execute(MarkResolved.self, ids, logger: logger)
/// ```
protocol PreparedSQL {
    /// The statement, its parameters as `$1`, `$2`, … in the order they are passed.
    static var sql: String { get }
}

/// The statement PostgresNIO prepares on each connection the first time it is run there.
struct PreparedStatement<SQL: PreparedSQL>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var sql: String { SQL.sql }
    /// The type's own name: PostgreSQL cuts names at 63 bytes, and the default (the
    /// qualified generic type) would give every statement the same first 63.
    static var name: String { "alertbridge.\(SQL.self)" }

    let bindings: PostgresBindings

    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

extension PostgresConnection {
    /// Runs a prepared statement with `values` as its parameters, in order.
    func execute<SQL: PreparedSQL, each Value: PostgresThrowingDynamicTypeEncodable>(
        _ statement: SQL.Type, _ values: repeat each Value, logger: Logger
    ) async throws -> AsyncThrowingMapSequence<PostgresRowSequence, PostgresRow> {
        var bindings = PostgresBindings()
        repeat try bindings.append(each values)
        return try await execute(PreparedStatement<SQL>(bindings: bindings), logger: logger)
    }
}
