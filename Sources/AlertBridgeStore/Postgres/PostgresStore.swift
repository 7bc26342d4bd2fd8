import AlertBridgeCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import _ConnectionPoolModule
import Synchronization

/// The shared store: any number of alertbridge instances on one PostgreSQL database.
///
/// It calls exactly the pure planners the SQLite store calls; only SQL and concurrency
/// control differ. Ingest serializes batches that share a dedup key with per-key
/// transaction-scoped advisory locks (taken in hash order, so two batches never
/// deadlock), and row locks on the incidents it merges into, so an operator action
/// and an ingest never overwrite each other. The escalation engine and the outbox
/// dispatcher claim rows with `FOR UPDATE SKIP LOCKED`: two instances never advance
/// the same incident or hand out the same delivery.
///
/// The connection pool (``PostgresClient``) runs in a task this store owns, started by
/// ``open(_:logger:options:)`` and ended by ``close()``: the store is used outside any
/// service group too (CLI, tests), and its lifetime is exactly the pool's.
///
/// When the database is unreachable every call fails within about
/// ``Options/acquireTimeout`` with ``StoreError/unavailable(_:)`` instead of waiting in
/// the pool's queue (the pool keeps retrying connections in the background, so the
/// store recovers by itself when the database returns).
public final class PostgresStore: IncidentStore {
    public struct Options: Sendable {
        /// Time to establish one TCP (and TLS) connection.
        public var connectTimeout: Duration = .seconds(2)
        /// How long a call waits for a pooled connection before it fails as unavailable.
        public var acquireTimeout: Duration = .seconds(3)
        /// How long one call (lease and transaction) may take at most before it fails as unavailable.
        public var callTimeout: Duration = .seconds(15)
        public var maximumConnections = 10

        public init() {}
    }

    let client: PostgresClient
    let logger: Logger
    let options: Options
    private let runner: Task<Void, Never>
    private let closed = Mutex(false)
    /// Concurrent ingests, committed together, one transaction at a time (the advisory
    /// key locks would serialise overlapping ones anyway). A transaction runs on its
    /// connection's event loop, planning included, so a batch is capped well below
    /// SQLite's: HTTP connections on the same loop wait while it plans.
    private let ingests = Batcher<RoutedAlert, IngestOutcome>(maxBatch: 2_000)
    /// Whether this instance is alive, for the others' claims (``InstanceLock``).
    let instance: InstanceLock
    /// Which other instances are dead, for this one's claims.
    let absent = Mutex(AbsentInstances())

    private init(client: PostgresClient, runner: Task<Void, Never>, instance: InstanceLock, logger: Logger, options: Options) {
        self.client = client
        self.runner = runner
        self.instance = instance
        self.logger = logger
        self.options = options
    }

    /// Starts the pool and applies pending migrations (safe when several instances start at once).
    public static func open(_ location: PostgresLocation, logger: Logger, options: Options = Options()) async throws -> PostgresStore {
        var config = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: try tls(location.tls))
        config.options.connectTimeout = options.connectTimeout
        config.options.maximumConnections = options.maximumConnections
        // A call that gave up at its deadline cannot stop its query (PostgresNIO ignores
        // task cancellation): the server must, or a query waiting on a lock would keep its
        // connection, and ten of them the whole pool. And a session that holds locks but
        // went quiet (a frozen instance) is ended, so it does not block the others for good.
        let deadline = "\(max(1, options.callTimeout.milliseconds))"
        config.options.additionalStartupParameters = [
            ("statement_timeout", deadline), ("idle_in_transaction_session_timeout", deadline),
        ]
        config.options.minimumConnections = 1
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        let runner = Task { await client.run() }
        let instance = InstanceLock(logger: logger) {
            var config = try connection(location, options: options)
            // So that it can be told apart in `pg_stat_activity`.
            config.options.additionalStartupParameters = [("application_name", "alertbridge instance lock")]
            return try await PostgresConnection.connect(configuration: config, id: 0, logger: logger)
        }
        let store = PostgresStore(client: client, runner: runner, instance: instance, logger: logger, options: options)
        do {
            try await store.migrate()
        } catch {
            try? await store.close()
            if let refused = refusal(error) { throw refused }
            // The pool retries and only logs why it got no connection; one connection of
            // our own says it (connection refused, a password or database PostgreSQL refused).
            if case StoreError.unavailable = error, let why = await whyNoConnection(location, options: options, logger: logger) {
                throw why
            }
            throw error
        }
        return store
    }

    /// PostgresNIO's own text hides the server's answer; at start it is what the operator
    /// needs (a role that may not create tables, a missing database, a wrong password).
    private static func refusal(_ error: any Error) -> StoreError? {
        guard let error = error as? PSQLError, let message = error.serverInfo?[.message] else { return nil }
        return .unavailable("PostgreSQL refused: \(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))")
    }

    /// One connection of its own, outside the pool.
    private static func connection(_ location: PostgresLocation, options: Options) throws -> PostgresConnection.Configuration {
        var config = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: .disable)
        config.tls = switch location.tls {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        config.options.connectTimeout = .milliseconds(options.connectTimeout.milliseconds)
        return config
    }

    /// Why no connection to `location` can be made, or `nil` if one can now.
    private static func whyNoConnection(_ location: PostgresLocation, options: Options, logger: Logger) async -> StoreError? {
        do {
            let connection = try await PostgresConnection.connect(configuration: try connection(location, options: options),
                                                                  id: 0, logger: logger)
            try? await connection.close()
            return nil
        } catch {
            if let refused = refusal(error) { return refused }
            let cause = (error as? PSQLError).map { $0.underlying ?? $0 } ?? error
            return .unavailable("cannot connect to \(location.host):\(location.port): \(describe(cause))")
        }
    }

    /// A connection failure in an operator's words: NIO's own text names its internals.
    private static func describe(_ error: any Error) -> String {
        switch error {
        case let error as NIOConnectionError:
            if let failure = error.connectionErrors.first { return describe(failure.error) }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve \(error.host): \(dns)" }
            return "\(error)"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode)).lowercased()
        case ChannelError.connectTimeout(let after):
            return "no answer within \(DurationText.format(.nanoseconds(after.nanoseconds)))"
        case let error as PSQLError where error.code == .sslUnsupported:
            return "the server does not offer TLS, which the store's sslmode needs (sslmode=prefer or disable connect without it)"
        case let error as PSQLError:
            // Its description hides everything (it may hold credentials); its code does not.
            return "\(error.code)"
        default:
            return "\(error)"
        }
    }

    private static func tls(_ mode: PostgresLocation.TLSMode) throws -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    func migrate() async throws {
        let logger = self.logger
        try await transaction { db in
            // Two instances starting at once: the second waits here, then finds the work done.
            try await db.query("SELECT pg_advisory_xact_lock(\(PostgresMigrations.lockKey))", logger: logger)
            try await db.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)
                """, logger: logger)
            var applied = Set<Int>()
            for try await version in try await db.query("SELECT version FROM schema_migrations", logger: logger)
                .decode(Int.self) {
                applied.insert(version)
            }
            try SchemaVersion.refuseNewer(applied, known: PostgresMigrations.all.map(\.version))
            for migration in PostgresMigrations.all where !applied.contains(migration.version) {
                for statement in migration.statements {
                    try await db.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                let at = SystemClock().now().milliseconds
                try await db.query("INSERT INTO schema_migrations (version, applied_at) VALUES (\(migration.version), \(at))",
                                   logger: logger)
                logger.info("applied store migration", metadata: ["version": "\(migration.version)"])
            }
        }
    }

    // MARK: - Connections with a deadline

    /// Leases a connection, failing as unavailable when none comes within the acquire timeout.
    ///
    /// The pool queues requests while it cannot connect (and only fails them after its
    /// circuit breaker trips, a minute later): without this deadline an ingest would hang
    /// instead of answering 503.
    ///
    /// The operation runs in its own task and the caller is released by whichever comes
    /// first, the result or the deadline, so a stuck lease can never hold a caller. The
    /// body runs on the leased connection's event loop (``EventLoopExecutor``).
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        if closed.withLock({ $0 }) { throw StoreError.unavailable("store closed") }
        let race = Race<T>()
        let timeout = options.acquireTimeout
        let callTimeout = max(options.callTimeout, timeout)
        let client = self.client
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                race.start(continuation)
                let work = Task {
                    do {
                        let value = try await client.withConnection { connection in
                            race.leased(connection)
                            return try await withTaskExecutorPreference(EventLoopExecutor(connection.eventLoop)) {
                                try await body(connection)
                            }
                        }
                        race.finish(.success(value))
                    } catch let error as PSQLError where Self.isConnectionLevel(error) || Self.isTimeout(error) {
                        race.finish(.failure(StoreError.unavailable(Self.unavailableReason(error, callTimeout: callTimeout))))
                    } catch let error as ConnectionPoolError where error == .connectionCreationCircuitBreakerTripped {
                        // After a minute of failed connects the pool fails every request at
                        // once, until one connects.
                        race.finish(.failure(StoreError.unavailable("no database connection (connecting keeps failing)")))
                    } catch let error as ConnectionPoolError where error == .poolShutdown {
                        race.finish(.failure(StoreError.unavailable("the store is shutting down")))
                    } catch {
                        race.finish(.failure(error))
                    }
                }
                let timer = Task {
                    // Until a connection is leased the deadline is the acquire timeout. Once
                    // leased, a connection that dies under the call must not hold the caller
                    // either: PostgresNIO can leave a query unanswered when its channel closed
                    // just before the write, so the call fails half a second after its
                    // connection closed, or at the latest at the call deadline. Times are read
                    // from the clock, not counted in ticks, and the connection is watched from
                    // the lease on: a busy machine's late wakeups do not stretch them, and a
                    // call whose connection died at once fails at once, not after the acquire
                    // timeout (CI, 2026-12-01: a call failed 5.3 s after it began, as the server stopped).
                    let clock = ContinuousClock()
                    let start = clock.now
                    var closedAt: ContinuousClock.Instant?
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(100))
                        let now = clock.now
                        let failure: String
                        let closed = race.leasedConnectionClosed
                        switch closed {
                        case .none:
                            guard start.duration(to: now) >= timeout else { continue }
                            failure = "no database connection within \(DurationText.format(timeout))"
                        case .some(let closed):
                            if closed, closedAt == nil { closedAt = now }
                            if let closedAt, closedAt.duration(to: now) >= .milliseconds(500) {
                                failure = "database connection lost"
                            } else if start.duration(to: now) >= callTimeout {
                                failure = "database call took over \(DurationText.format(callTimeout))"
                            } else {
                                continue
                            }
                        }
                        // Not expired: the call ended meanwhile, or (before a lease) just leased.
                        if race.expire(StoreError.unavailable(failure), leasedToo: closed != nil) {
                            work.cancel()
                            return
                        }
                    }
                }
                race.attach(work: work, timer: timer)
            }
        } onCancel: {
            race.cancel()
        }
    }

    /// The server ended a statement at `statement_timeout` (a row it needed was held that
    /// long): the database is there, but did not answer in time.
    static func isTimeout(_ error: PSQLError) -> Bool {
        error.serverInfo?[.sqlState] == "57014"
    }

    /// Why a call failed, in an operator's words: the 503's reason. PostgresNIO's codes
    /// (`server`, `serverClosedConnection`) named its internals (black-box round 28), and a
    /// statement timeout gave no reason at all.
    static func unavailableReason(_ error: PSQLError, callTimeout: Duration) -> String {
        if isTimeout(error) {
            return "a database call took over \(DurationText.format(callTimeout)) (statement_timeout): another session holds a row it needs"
        }
        if let message = error.serverInfo?[.message] {
            return "the database ended the connection: \(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))"
        }
        return switch error.code {
        case .serverClosedConnection, .uncleanShutdown: "the database closed the connection"
        case .connectionError: "the connection to the database failed"
        case .clientClosedConnection, .poolClosed: "the connection to the database was closed"
        case .queryCancelled: "the database call was cancelled"
        default: "\(error.code)"
        }
    }

    /// Errors that say "the database is not there" rather than "this statement is wrong".
    static func isConnectionLevel(_ error: PSQLError) -> Bool {
        switch error.code {
        case .connectionError, .uncleanShutdown, .serverClosedConnection, .clientClosedConnection,
             .poolClosed, .queryCancelled:
            return true
        default:
            if let state = error.serverInfo?[.sqlState] {
                // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection errors.
                return state.hasPrefix("57P") || state.hasPrefix("08")
            }
            return false
        }
    }

    /// Runs `body` in one transaction on a pooled connection.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = self.logger
        return try await withConnection { connection in
            try await connection.query("BEGIN", logger: logger)
            do {
                let result = try await body(connection)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch let error as PSQLError where Self.isConnectionLevel(error) {
                // The connection is gone and the server rolls back on its own; a ROLLBACK
                // sent on a dying connection may never be answered.
                throw error
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    // MARK: - IncidentStore

    public func ingest(_ batch: [RoutedAlert], now: Timestamp) async throws -> [IngestOutcome] {
        try await ingests.submit(batch, now: now) { alerts, now in try await self.ingestTransaction(alerts, now: now) }
    }

    /// One batch at a time per dedup key across all instances: the lock covers keys with
    /// no incident yet, which no row lock can. Hash order makes it deadlock-free.
    ///
    /// Keys share 1,024 locks by their hash: one lock per key took 10,000 for one request
    /// of 10,000 new keys, more than PostgreSQL's shared lock table holds by default (64
    /// per connection, 6,400 for 100), and that request failed with `out of shared memory`
    /// at every retry; a fleet's concurrent storms of new keys did too. Two batches whose
    /// keys share a lock only take turns.
    ///
    /// First, shared, the silences' lock (``PostgresStore/lockSilences(_:logger:)``): an
    /// expire waits for the ingests under way, and a batch that comes after it for it.
    enum LockKeys: PreparedSQL {
        static let sql = """
            SELECT pg_advisory_xact_lock_shared(\(PostgresMigrations.silenceLockClass), 0)
            UNION ALL (SELECT pg_advisory_xact_lock(\(PostgresMigrations.keyLockClass), h)
                FROM (SELECT DISTINCT hashtext(k) & 1023 AS h FROM unnest($1::text[]) AS k) s ORDER BY h)
            """
    }

    enum NewIncidentIDs: PreparedSQL {
        static let sql = "SELECT nextval('incidents_id_seq') FROM generate_series(1, $1)"
    }

    /// One ingest transaction.
    private func ingestTransaction(_ batch: [RoutedAlert], now: Timestamp) async throws -> [IngestOutcome] {
        let logger = self.logger
        return try await transaction { db in
            let keys = Array(Set(batch.map(\.dedupKey)))
            _ = try await db.execute(LockKeys.self, keys, logger: logger)
            // Read once the silences' lock is held: a new statement, a new snapshot, which
            // sees an expire or extension that committed while this batch waited for it.
            let silences = try await Self.activeSilences(db, at: now, logger: logger)
            let current = try await Self.latestIncidents(db, keys: keys, logger: logger)
            var pairs = Set<IngestPlanner.AlertKey>()
            for routed in batch {
                if let incident = current[routed.dedupKey] {
                    pairs.insert(.init(incidentID: incident.id, fingerprint: routed.alert.fingerprint))
                }
            }
            let statuses = try await Self.alertStatuses(db, Array(pairs), logger: logger)
            let sourceRules = Set(batch.flatMap { $0.inhibitors.map(\.sourceRule) })
            let sources = try await Self.openIncidents(db, rules: Array(sourceRules), logger: logger)
            var plan = IngestPlanner.plan(batch, current: current, alertStatus: statuses.status, inhibitSources: sources,
                                          alertEnds: statuses.ends, alertStarts: statuses.starts, silences: silences, now: now)
            if plan.newIncidentCount > 0 {
                var ids: [Int64] = []
                for try await row in try await db.execute(NewIncidentIDs.self, plan.newIncidentCount, logger: logger) {
                    ids.append(try row.decode(Int64.self))
                }
                plan = plan.assigningIDs(ids.sorted())
            }
            try await Self.write(db, incidents: plan.incidents, logger: logger)
            try await Self.writeSnapshots(db, plan.policySnapshots, logger: logger)
            // Resolved incidents' alerts first, then this batch's alerts as they ended up: an
            // incident that resolved and reopened within the batch keeps its new firing alert.
            try await Self.markAlertsResolved(db, incidentIDs: plan.resolvedIncidentIDs, logger: logger)
            try await Self.write(db, alerts: plan.alerts, logger: logger)
            try await Self.append(db, timeline: plan.timeline, logger: logger)
            try await Self.enqueue(db, plan.pages, now: now, logger: logger)
            let resolved = Set(plan.resolvedIncidentIDs)
            try await Self.notify(db, plan.incidents.filter { resolved.contains($0.id) && $0.status == .resolved },
                                  event: .resolved, now: now, logger: logger)
            return plan.outcomes
        }
    }

    public func act(_ action: IncidentAction, on id: Int64, now: Timestamp) async throws -> Incident {
        let logger = self.logger
        return try await transaction { db in
            guard let incident = try await Self.incidentForUpdate(db, id, logger: logger) else { throw StoreError.notFound(id) }
            var (next, entry) = try action.apply(to: incident, now: now)
            let policy = try await Self.snapshots(db, of: [id], logger: logger)[id]
            if let policy, next.status.isOpen {
                next.nextEscalationAt = EscalationPlanner.nextDue(next, policy: policy)
            }
            if next != incident { try await Self.write(db, incidents: [next], logger: logger) }
            try await Self.append(db, timeline: [entry], logger: logger)
            switch action {
            case .acknowledge: try await Self.notify(db, [next], event: .acknowledged, now: now, logger: logger)
            case .resolve:
                try await Self.markAlertsResolved(db, incidentIDs: [id], logger: logger)
                try await Self.notify(db, [next], event: .resolved, now: now, logger: logger)
            case .note: break
            }
            return next
        }
    }

    public func incidents(_ query: IncidentQuery) async throws -> [Incident] {
        let statuses = query.status.statuses.map(\.rawValue)
        let severities = (query.severities.isEmpty ? Severity.allCases : query.severities).map(\.rawValue)
        // Containment: every label asked for, with its value (`{}` holds for every incident).
        let labels = JSONWriter.text { $0.value(query.labels) }
        let logger = self.logger
        return try await withConnection { db in
            try await Self.incidentRows(db, """
                SELECT \(unescaped: Self.incidentColumns) FROM incidents WHERE status = ANY(\(statuses)::text[])
                AND created_at >= \(query.createdSince?.milliseconds ?? .min) AND created_at < \(query.createdBefore?.milliseconds ?? .max)
                AND id < \(query.beforeID ?? .max) AND severity = ANY(\(severities)::text[]) AND labels @> \(labels)::jsonb
                ORDER BY id DESC LIMIT \(query.limit)
                """, logger: logger)
        }
    }

    enum IncidentsByID: PreparedSQL {
        static let sql = "SELECT \(incidentColumns) FROM incidents WHERE id = ANY($1::bigint[])"
    }

    enum AlertsOfIncidents: PreparedSQL {
        static let sql = """
            SELECT incident_id, \(alertColumns) FROM alerts WHERE incident_id = ANY($1::bigint[])
            ORDER BY incident_id, first_seen_at, fingerprint
            """
    }

    enum TimelineOfIncidents: PreparedSQL {
        static let sql = """
            SELECT incident_id, at, kind, "by", detail FROM timeline WHERE incident_id = ANY($1::bigint[]) ORDER BY incident_id, id
            """
    }

    public func openIncidents(rules: [String]) async throws -> [Incident] {
        let logger = self.logger
        return try await withConnection { db in try await Self.openIncidents(db, rules: rules, logger: logger) }
    }

    /// Three statements whatever the number of incidents.
    public func incidentDetails(ids: [Int64]) async throws -> [Int64: IncidentDetail] {
        guard !ids.isEmpty else { return [:] }
        let logger = self.logger
        return try await withConnection { db in
            let incidents = try await Self.decodeIncidents(db.execute(IncidentsByID.self, ids, logger: logger))
            guard !incidents.isEmpty else { return [:] }
            let found = incidents.map(\.id)
            var alerts: [Int64: [StoredAlert]] = [:]
            for try await row in try await db.execute(AlertsOfIncidents.self, found, logger: logger) {
                alerts[try row.makeRandomAccess()["incident_id"].decode(Int64.self), default: []].append(try Self.decodeAlert(row))
            }
            var timeline: [Int64: [TimelineEntry]] = [:]
            for try await row in try await db.execute(TimelineOfIncidents.self, found, logger: logger) {
                let entry = try Self.decodeTimeline(row)
                timeline[entry.incidentID, default: []].append(entry)
            }
            let policies = try await Self.snapshots(db, of: found, logger: logger)
            var out: [Int64: IncidentDetail] = [:]
            for incident in incidents {
                out[incident.id] = IncidentDetail(incident: incident, alerts: alerts[incident.id] ?? [],
                                                  timeline: timeline[incident.id] ?? [], policy: policies[incident.id])
            }
            return out
        }
    }

    public func openAlerts(fingerprints: [String]) async throws -> [HeldAlert] {
        let logger = self.logger
        let unique = Array(Set(fingerprints))
        guard !unique.isEmpty else { return [] }
        return try await withConnection { db in
            var alerts: [(Int64, StoredAlert)] = []
            for try await row in try await db.query("""
                SELECT incident_id, \(unescaped: Self.alertColumns) FROM alerts WHERE fingerprint = ANY(\(unique)::text[])
                AND incident_id IN (SELECT id FROM incidents WHERE status IN ('triggered', 'acknowledged'))
                ORDER BY incident_id
                """, logger: logger) {
                alerts.append((try row.makeRandomAccess()["incident_id"].decode(Int64.self), try Self.decodeAlert(row)))
            }
            guard !alerts.isEmpty else { return [] }
            let incidents = try await Self.decodeIncidents(db.execute(IncidentsByID.self, Array(Set(alerts.map(\.0))), logger: logger))
            let byID = Dictionary(incidents.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            return alerts.compactMap { id, alert in byID[id].map { HeldAlert(incident: $0, alert: alert) } }
        }
    }

    public func ping() async throws {
        let logger = self.logger
        try await withConnection { db in
            try await db.query("SELECT 1", logger: logger)
            return ()
        }
    }

    public func close() async throws {
        let first = closed.withLock { closed -> Bool in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        await instance.close()
        runner.cancel()
        await runner.value
    }
}

/// One database call racing its connection deadline: whichever ends first resumes the caller.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var connection: PostgresConnection?
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
        var cancelled = false
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    func attach(work: Task<Void, Never>, timer: Task<Void, Never>) {
        let cancelled = state.withLock { state -> Bool in
            state.work = work
            state.timer = timer
            return state.cancelled
        }
        if cancelled { cancel() }
    }

    func leased(_ connection: PostgresConnection) {
        state.withLock { $0.connection = connection }
    }

    /// Whether the leased connection has closed; nil before a lease.
    var leasedConnectionClosed: Bool? {
        state.withLock { state in state.connection.map(\.isClosed) }
    }

    func finish(_ result: Result<T, any Error>) {
        let (continuation, timer) = state.withLock { state in
            defer { state.continuation = nil }
            return (state.continuation, state.timer)
        }
        timer?.cancel()
        continuation?.resume(with: result)
    }

    /// A deadline passed: fails the caller (unless a connection was leased, for the first one).
    func expire(_ error: any Error, leasedToo: Bool) -> Bool {
        let continuation = state.withLock { state -> CheckedContinuation<T, any Error>? in
            guard leasedToo || state.connection == nil else { return nil }
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(throwing: error)
        return continuation != nil
    }

    func cancel() {
        let (work, timer) = state.withLock { state in
            state.cancelled = true
            return (state.work, state.timer)
        }
        work?.cancel()
        timer?.cancel()
    }
}
