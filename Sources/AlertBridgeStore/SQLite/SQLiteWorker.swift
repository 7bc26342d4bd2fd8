#if canImport(Glibc)
import Glibc
#endif
import NIOPosix
import SQLiteNIO
import Synchronization
import VaporCSQLite

/// One SQLite connection and the thread that owns it.
///
/// A whole transaction runs as one synchronous closure on that thread: one hop from
/// the caller's task, however many statements it executes, and every statement is
/// prepared once and reused. SQLiteNIO prepares each statement on every call and hops
/// back to an event loop for every row; under an alert storm those costs were larger
/// than SQLite's own work, so the store talks to the SQLite library SQLiteNIO vendors
/// (`VaporCSQLite`) directly and keeps SQLiteNIO's `SQLiteData` as its value type.
final class SQLiteWorker: Sendable {
    private let thread: NIOThreadPool
    private let session: SQLiteSession.Box
    private let closed = Mutex(false)
    /// See ``SQLiteSession/lockWait``.
    let lockWait: SQLiteSession.LockWait

    private init(thread: NIOThreadPool, session: SQLiteSession) {
        self.thread = thread
        self.session = SQLiteSession.Box(session)
        lockWait = session.lockWait
    }

    /// Opens (creating if needed) the database file on a new thread named `name` (at most
    /// 15 bytes, Linux's limit), which `top -H`, `ps -L` and `perf` show: the store's three
    /// threads are otherwise all NIO's `TP-#0`.
    static func open(path: String, name: String = "sqlite") async throws -> SQLiteWorker {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        do {
            let session = try await thread.runIfActive {
                nameThisThread(name)
                return SQLiteSession.Box(try SQLiteSession(path: path))
            }
            return SQLiteWorker(thread: thread, session: session.session)
        } catch {
            try? await thread.shutdownGracefully()
            throw error
        }
    }

    /// Runs `body` on the connection's thread; nothing else uses the connection meanwhile.
    func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteSession) throws -> T) async throws -> T {
        // Closed (shutting down): a retryable 503 that says so, as a closed ingest batcher
        // does, where the closed thread pool's own error was a bare CancellationError.
        guard !closed.withLock({ $0 }) else { throw StoreError.unavailable("the store is closed") }
        let session = self.session
        return try await thread.runIfActive { try body(session.session) }
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT` on the connection's thread; rolls back if it throws.
    /// - Parameter durable: `false` returns from the commit before it reaches the disk
    ///   (see ``SQLiteSession/transaction(durable:_:)``).
    func transaction<T: Sendable>(durable: Bool = true, brief: Int32? = nil,
                                  _ body: @escaping @Sendable (SQLiteSession) throws -> T) async throws -> T {
        try await run { try $0.transaction(durable: durable, brief: brief) { try body($0) } }
    }

    /// Queues `body` on the connection's thread without waiting for it, behind whatever
    /// is already queued there. If the worker has closed, `body` gets `nil` instead, at
    /// once and on the caller's thread, so it can fail whoever waits on it.
    func submit(_ body: @escaping @Sendable (SQLiteSession?) -> Void) {
        let session = self.session
        thread.submit { state in
            if case .active = state { body(session.session) } else { body(nil) }
        }
    }

    func close() async throws {
        closed.withLock { $0 = true }
        let session = self.session
        try await thread.runIfActive { session.session.close() }
        try await thread.shutdownGracefully()
    }
}

/// The connection as used on its own thread: statements, rows, transactions.
final class SQLiteSession {
    private var handle: OpaquePointer?
    /// Prepared statements by SQL text. The store's SQL is a fixed set, so this stays small.
    private var statements: [String: PreparedStatement] = [:]
    /// Runs before every transaction: the writer's refuses to write into a store file
    /// that is no longer at its path (``FileLock/movedAway()``).
    var beforeTransaction: () throws -> Void = {}
    /// Told of every failure that says the file is damaged (`SQLITE_CORRUPT`, `SQLITE_NOTADB`).
    var onDamage: (SQLiteFailure) -> Void = { _ in }
    /// A transaction found the file locked for the whole of ``lockPatience``: another
    /// process holds it. Until one gets the lock again, each waits ``lockedOutPatience``,
    /// so the writes queued behind it answer "retry" at once, not after 10 s apiece (black-box
    /// round 27: with an `sqlite3` shell holding the lock, ingest answered 503 after 19 s,
    /// `/readyz` after 47 s, past senders' and health checks' timeouts).
    private var lockedOut = false
    static let lockPatience: Int32 = 10_000
    static let lockedOutPatience: Int32 = 250
    /// The busy timeout set on the connection now, in milliseconds.
    private var patience = lockPatience
    /// Since when a transaction has been waiting for the file's write lock, for
    /// ``SQLiteStore/ping()`` on another thread.
    let lockWait = LockWait()

    /// Since when this connection has waited for the file's write lock, if it does.
    final class LockWait: Sendable {
        private let since = Mutex<ContinuousClock.Instant?>(nil)
        func begin() { since.withLock { $0 = .now } }
        func end() { since.withLock { $0 = nil } }
        /// How long the current wait has lasted, or `nil`.
        var waited: Duration? { since.withLock { $0 }.map { .now - $0 } }
    }

    /// Sendable only because ``SQLiteWorker`` confines it to one thread.
    final class Box: @unchecked Sendable {
        let session: SQLiteSession
        init(_ session: SQLiteSession) { self.session = session }
    }

    /// - Parameter readOnly: opens an existing file without creating or changing it.
    init(path: String, readOnly: Bool = false) throws {
        if !readOnly { Self.createPrivately(path) }
        let access = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE
        let flags = access | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let code = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK else {
            let message = handle.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "cannot open"
            sqlite_nio_sqlite3_close(handle)
            throw SQLiteFailure(code: code, message: "\(message) (\(path))")
        }
        // The writer and the reader are two connections to one file: wait, never fail, on a lock.
        sqlite_nio_sqlite3_busy_timeout(handle, Self.lockPatience)
    }

    /// A new store file is its user's alone (`0600`), whatever the umask: it holds every
    /// incident's labels, notes and who acknowledged what, and SQLite gives its `-wal` and
    /// `-shm` files the database file's permissions. An existing file keeps its own.
    private static func createPrivately(_ path: String) {
        guard !path.isEmpty, path != ":memory:", !path.hasPrefix("file:") else { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    func close() {
        for statement in statements.values { sqlite_nio_sqlite3_finalize(statement.handle) }
        statements = [:]
        sqlite_nio_sqlite3_close(handle)
        handle = nil
    }

    /// Executes one statement and returns its rows.
    @discardableResult
    func rows(_ sql: String, _ binds: [SQLiteData] = []) throws -> [SQLiteResultRow] {
        try rows(try prepare(sql), binds)
    }

    func rows(_ statement: PreparedStatement, _ binds: [SQLiteData]) throws -> [SQLiteResultRow] {
        defer { sqlite_nio_sqlite3_reset(statement.handle) }
        try bind(binds, to: statement.handle)
        var out: [SQLiteResultRow] = []
        while true {
            let code = sqlite_nio_sqlite3_step(statement.handle)
            if code == SQLITE_DONE { return out }
            guard code == SQLITE_ROW else { throw failure(code) }
            out.append(SQLiteResultRow(columns: statement.columns, values: values(statement)))
        }
    }

    /// Executes one statement for its effect.
    func run(_ sql: String, _ binds: [SQLiteData] = []) throws {
        try run(try prepare(sql), binds)
    }

    /// Executes a statement prepared once for a loop (no lookup of its SQL per row).
    func run(_ statement: PreparedStatement, _ binds: [SQLiteData]) throws {
        defer { sqlite_nio_sqlite3_reset(statement.handle) }
        try bind(binds, to: statement.handle)
        while true {
            let code = sqlite_nio_sqlite3_step(statement.handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw failure(code) }
        }
    }

    /// Rows changed by the last statement.
    var changes: Int { Int(sqlite_nio_sqlite3_changes(handle)) }

    /// - Parameter durable: `false` commits with `synchronous=NORMAL`: no fsync of its own.
    ///   A process crash still loses nothing (the log is written, the kernel has it); a
    ///   power cut can lose the transaction until the next durable commit's fsync, which
    ///   covers every log frame before it. Only for writes that are safe to lose that way.
    /// - Parameter brief: wait at most this many milliseconds for another process's lock
    ///   (a check, not a write that should wait out a short lock).
    func transaction<T>(durable: Bool = true, brief: Int32? = nil, _ body: (SQLiteSession) throws -> T) throws -> T {
        guard durable else {
            try run("PRAGMA synchronous=NORMAL")
            let result = Result { try transaction(brief: brief, body) }
            try run("PRAGMA synchronous=FULL")
            return try result.get()
        }
        try beforeTransaction()
        try begin(brief: brief)
        do {
            let result = try body(self)
            try run("COMMIT")
            return result
        } catch {
            try? run("ROLLBACK")
            throw SQLiteFailure.cannotWrite(error)
        }
    }

    /// `BEGIN IMMEDIATE`, waiting for another process's write lock ``lockPatience``, or
    /// ``lockedOutPatience`` while locked out, or `brief` if shorter.
    private func begin(brief: Int32?) throws {
        let wait = min(brief ?? .max, lockedOut ? Self.lockedOutPatience : Self.lockPatience)
        setPatience(wait)
        lockWait.begin()
        defer { lockWait.end() }
        do {
            try run("BEGIN IMMEDIATE")
            lockedOut = false
        } catch {
            if wait == Self.lockPatience, let failure = error as? SQLiteFailure, failure.code & 0xFF == SQLITE_BUSY {
                lockedOut = true
            }
            setPatience(lockedOut ? Self.lockedOutPatience : Self.lockPatience)
            throw SQLiteFailure.cannotWrite(error)
        }
        setPatience(Self.lockPatience)
    }

    private func setPatience(_ milliseconds: Int32) {
        guard milliseconds != patience else { return }
        sqlite_nio_sqlite3_busy_timeout(handle, milliseconds)
        patience = milliseconds
    }

    /// Calls `hook` after each commit with the number of pages in the write-ahead log,
    /// instead of SQLite's automatic checkpoint; `nil` removes it.
    func onWALCommit(_ context: UnsafeMutableRawPointer?,
                     _ hook: (@convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32)?) {
        sqlite_nio_sqlite3_wal_hook(handle, hook, context)
    }

    // MARK: - Statements

    /// A statement of this session, prepared once and reused until the session closes.
    struct PreparedStatement {
        fileprivate var handle: OpaquePointer
        fileprivate var columns: SQLiteResultRow.Columns
    }

    func prepare(_ sql: String) throws -> PreparedStatement {
        if let statement = statements[sql] { return statement }
        var raw: OpaquePointer?
        let code = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard code == SQLITE_OK, let raw else { throw failure(code) }
        let count = sqlite_nio_sqlite3_column_count(raw)
        var names: [String: Int] = [:]
        for i in 0..<count {
            if let name = sqlite_nio_sqlite3_column_name(raw, i).map({ String(cString: $0) }), names[name] == nil {
                names[name] = Int(i)
            }
        }
        let statement = PreparedStatement(handle: raw, columns: SQLiteResultRow.Columns(names: names, count: Int(count)))
        statements[sql] = statement
        return statement
    }

    /// Binds every parameter. Never `sqlite3_clear_bindings`: it expires statements whose
    /// parameters the planner looked at, and every execution would be prepared again.
    private func bind(_ binds: [SQLiteData], to statement: OpaquePointer) throws {
        guard sqlite_nio_sqlite3_bind_parameter_count(statement) == binds.count else {
            throw SQLiteFailure(code: SQLITE_RANGE, message: "the statement takes \(sqlite_nio_sqlite3_bind_parameter_count(statement)) parameters, given \(binds.count)")
        }
        for (i, value) in binds.enumerated() {
            let index = Int32(i + 1)
            let code: Int32
            switch value {
            case .integer(let v): code = sqlite_nio_sqlite3_bind_int64(statement, index, Int64(v))
            case .float(let v): code = sqlite_nio_sqlite3_bind_double(statement, index, v)
            case .null: code = sqlite_nio_sqlite3_bind_null(statement, index)
            case .text(var v):
                code = v.withUTF8 {
                    sqlite_nio_sqlite3_bind_text64(statement, index, $0.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                                                   UInt64($0.count), Self.transient, UInt8(SQLITE_UTF8))
                }
            case .blob(let v):
                code = v.withUnsafeReadableBytes {
                    sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), Self.transient)
                }
            }
            guard code == SQLITE_OK else { throw failure(code) }
        }
    }

    private func values(_ statement: PreparedStatement) -> [SQLiteData] {
        let count = statement.columns.count
        var out: [SQLiteData] = []
        out.reserveCapacity(count)
        for i in 0..<Int32(count) {
            switch sqlite_nio_sqlite3_column_type(statement.handle, i) {
            case SQLITE_INTEGER: out.append(.integer(Int(sqlite_nio_sqlite3_column_int64(statement.handle, i))))
            case SQLITE_FLOAT: out.append(.float(sqlite_nio_sqlite3_column_double(statement.handle, i)))
            case SQLITE_TEXT:
                let length = Int(sqlite_nio_sqlite3_column_bytes(statement.handle, i))
                let text = sqlite_nio_sqlite3_column_text(statement.handle, i).map {
                    String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                } ?? ""
                out.append(.text(text))
            case SQLITE_BLOB:
                let length = Int(sqlite_nio_sqlite3_column_bytes(statement.handle, i))
                var buffer = ByteBuffer()
                if let bytes = sqlite_nio_sqlite3_column_blob(statement.handle, i) {
                    buffer.writeBytes(UnsafeRawBufferPointer(start: bytes, count: length))
                }
                out.append(.blob(buffer))
            default: out.append(.null)
            }
        }
        return out
    }

    private func failure(_ code: Int32) -> SQLiteFailure {
        let failure = SQLiteFailure(code: code, message: handle.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "error \(code)")
        if failure.isDamage { onDamage(failure) }
        return failure
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bound bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// One result row; columns are looked up by name as in the SQL.
struct SQLiteResultRow: Sendable {
    /// Column names of one prepared statement, shared by all its rows.
    final class Columns: Sendable {
        let names: [String: Int]
        let count: Int
        init(names: [String: Int], count: Int) {
            self.names = names
            self.count = count
        }
    }

    let columns: Columns
    let values: [SQLiteData]

    func column(_ name: String) -> SQLiteData? {
        columns.names[name].map { values[$0] }
    }
}

/// An error from the SQLite library, with its message.
struct SQLiteFailure: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var description: String { "SQLite error \(code): \(message)" }

    /// The file is damaged: no retry mends it.
    var isDamage: Bool { isCorrupt || code & 0xFF == SQLITE_NOTADB }
    var isCorrupt: Bool { code & 0xFF == SQLITE_CORRUPT }

    /// A full disk, an I/O error or a file made read-only: the store cannot write now, and
    /// callers answer 503 "retry" (as for a database that is down), not "internal error".
    /// It clears by itself once space is freed.
    static func cannotWrite(_ error: any Error) -> any Error {
        // SQLITE_BUSY (another process, an `sqlite3` shell say, holds the file), SQLITE_NOMEM,
        // SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, extended codes too:
        // all pass, so the sender is told to retry (503).
        guard let failure = error as? SQLiteFailure, [5, 7, 8, 10, 13, 14].contains(failure.code & 0xFF) else { return error }
        return StoreError.unavailable("SQLite cannot write: \(failure.message)")
    }
}

/// Names the calling thread through `/proc/thread-self/comm` (Linux; the C call for it is
/// not in Swift's Glibc module). A failure leaves NIO's name: only diagnostics lose.
private func nameThisThread(_ name: String) {
    #if os(Linux)
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    defer { close(fd) }
    _ = name.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    #endif
}
