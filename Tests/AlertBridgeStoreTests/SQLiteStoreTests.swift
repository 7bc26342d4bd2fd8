import AlertBridgeCore
@testable import AlertBridgeStore
import Foundation
import Logging
import Testing

/// Runs the store conformance suite on a fresh SQLite file per test.
@Suite struct SQLiteStoreTests {
    static func withStore(_ body: (StoreConformance) async throws -> Void) async throws {
        try await withDatabasePath { path in
            let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            do {
                try await body(StoreConformance(store: store))
            } catch {
                try await store.close()
                throw error
            }
            try await store.close()
        }
    }

    /// A path for a fresh database file, removed with its log and shared-memory index
    /// once `body` returns.
    static func withDatabasePath(_ body: (String) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        try await body(path)
    }

    /// A store with an incident, and another connection holding the file's write lock, as
    /// an `sqlite3` shell in a transaction does; `body` lets it go (`ROLLBACK`).
    static func withOutsideLock(_ body: (SQLiteStore, SQLiteSession, Timestamp) async throws -> Void) async throws {
        try await withDatabasePath { path in
            let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            let now = SystemClock().now()
            _ = try await store.ingest([StoreConformance.routed("edge-01")], now: now)
            let outside = try SQLiteSession(path: path)
            try outside.run("BEGIN IMMEDIATE")
            try await body(store, outside, now)
            try await store.close()
        }
    }

    /// Another process holds the file's write lock (an `sqlite3` shell in a transaction): the
    /// first write waits out its 10 s and answers "retry"; those queued behind it answer at
    /// once, not 10 s apiece (black-box round 27: 503 after 19 s, `/readyz` after 47 s); once
    /// the lock is let go, writes go through.
    @Test func writesBehindAnOutsideLockAnswerRetryAtOnce() async throws {
        try await Self.withOutsideLock { store, outside, now in
            let clock = ContinuousClock()
            var started = clock.now
            await #expect(throws: StoreError.unavailable("SQLite cannot write: database is locked")) {
                try await store.ingest([StoreConformance.routed("edge-02")], now: now)
            }
            #expect(clock.now - started >= .seconds(9), "the first waits its full patience")
            started = clock.now
            for instance in ["edge-03", "edge-04"] {
                await #expect(throws: StoreError.unavailable("SQLite cannot write: database is locked")) {
                    try await store.ingest([StoreConformance.routed(instance)], now: now)
                }
            }
            #expect(clock.now - started < .seconds(5), "those behind it answer at once")
            try outside.run("ROLLBACK")
            outside.close()
            #expect(try await store.ingest([StoreConformance.routed("edge-05")], now: now).map(\.kind) == [.merged])
        }
    }

    /// `/readyz` under another process's lock answers within about a second, not after a
    /// write's 10 s (black-box rounds 43 and 44: 9.8 s, past a health check's timeout): its
    /// own wait is a second, and queued behind a write that has just begun to wait, it
    /// answers once that write has waited a second. Neither makes the write give up sooner.
    @Test func pingAnswersSoonWhileAnotherProcessHoldsTheLock() async throws {
        try await Self.withOutsideLock { store, outside, now in
            let clock = ContinuousClock()
            var started = clock.now
            await #expect(throws: StoreError.unavailable("SQLite cannot write: database is locked")) { try await store.ping() }
            #expect(clock.now - started < .seconds(5), "its own brief wait")

            let write = Task { try await store.ingest([StoreConformance.routed("edge-02")], now: now) }
            let waitingBy = clock.now + .seconds(30)
            while store.writer.lockWait.waited == nil {
                try #require(clock.now < waitingBy, "the write waits for the lock")
                try await Task.sleep(for: .milliseconds(20))
            }
            started = clock.now
            await #expect(throws: StoreError.unavailable("SQLite cannot write: database is locked")) { try await store.ping() }
            // Not behind the write: it answered while the write still waits out its 10 s (an
            // order, not a time: under the full suite this has taken 5 s where alone it takes 1).
            #expect(store.writer.lockWait.waited != nil, "answered \(clock.now - started) after the write began to wait")
            try outside.run("ROLLBACK")
            outside.close()
            #expect(try await write.value.count == 1, "the write waited out the short lock")
            try await store.ping()
        }
    }

    /// alertbridge died mid-send: after a restart its pages go out at once, not when their
    /// two-minute lease ends (one process opens the file, so nobody else holds them), also
    /// one that was on its second attempt; and one waiting out a back-off is tried too.
    @Test func pagesInterruptedByACrashAreDueAtOnceAfterARestart() async throws {
        try await Self.withDatabasePath { path in
            let now = SystemClock().now()
            var store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            _ = try await store.ingest([StoreConformance.routed("a")], now: now)
            let claimed = try await store.claimDeliveries(now: now, lease: .seconds(600), limit: 10, quota: .none)
            try #require(claimed.count == 2)
            try await store.recordDeliveries([DeliveryRecord(id: claimed[0].id, outcome: .retry(at: now + .seconds(300), reason: "HTTP 503"))],
                                             now: now)
            #expect(try await store.claimDeliveries(now: now + .seconds(1), lease: .seconds(600), limit: 10, quota: .none).isEmpty)
            try await store.close()  // as if killed: nothing else recorded

            store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            let again = try await store.claimDeliveries(now: SystemClock().now(), lease: .seconds(600), limit: 10, quota: .none)
            #expect(again.map(\.id) == claimed.map(\.id))
            #expect(again.map(\.attempts) == [2, 2])
            try await store.close()
        }
    }

    /// Every check of ``StoreConformance``, on a fresh store each.
    @Test(arguments: StoreConformance.checks)
    func conformance(_ check: StoreConformance.Check) async throws {
        try await Self.withStore(check.run)
    }

    @Test func dataSurvivesReopeningTheFile() async throws {
        try await Self.withDatabasePath { path in
            let t0 = Timestamp(seconds: 1_795_457_100)
            var store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            let id = try #require(try await store.ingest([StoreConformance.routed("a")], now: t0)[0].incidentID)
            try await store.close()
            store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            #expect(try await store.incident(id: id)?.incident.alertCount == 1)
            #expect(try await store.ingest([StoreConformance.routed("a")], now: t0)[0] == IngestOutcome(incidentID: id, dedupKey: "EdgeLatencyHigh/ICN1/cdn-edge", kind: .merged))
            try await store.close()
        }
    }

    /// A new store and its log are readable by their user alone, whatever the umask; an
    /// existing file keeps the mode its owner gave it.
    @Test func aNewStoreIsItsUsersAlone() async throws {
        func mode(_ path: String) throws -> Int {
            try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        }
        try await Self.withDatabasePath { path in
            let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            _ = try await store.ingest([StoreConformance.routed("a")], now: Timestamp(seconds: 1_795_457_100))
            let (file, log) = (try mode(path), try mode(path + "-wal"))
            #expect(file == 0o600 && log == 0o600, "\(String(file, radix: 8)) \(String(log, radix: 8))")
            try await store.close()
        }
        try await Self.withDatabasePath { path in
            #expect(FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640]))
            let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            #expect(try mode(path) == 0o640)
            try await store.close()
        }
    }

    /// The write-ahead log goes back into the database file from the checkpointing thread:
    /// below the inline limit the writer never checkpoints, so the file grows only if that
    /// thread did the copy. Everything written reads back afterwards.
    @Test func theLogIsCopiedBackOffTheWriter() async throws {
        try await Self.withDatabasePath { path in
            func size(_ suffix: String) -> Int {
                ((try? FileManager.default.attributesOfItem(atPath: path + suffix))?[.size] as? NSNumber)?.intValue ?? 0
            }
            let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            let emptyFile = size("")
            let t0 = Timestamp(seconds: 1_795_457_100)
            var batches = 0
            // New incidents until the log holds more than the threshold's worth of pages.
            while size("-wal") < Int(WALCheckpointer.threshold + 200) * 4096 {
                let batch = (0..<50).map { StoreConformance.routed("h\($0)", key: "k\(batches)-\($0)") }
                _ = try await store.ingest(batch, now: t0)
                batches += 1
            }
            #expect(size("-wal") < Int(WALCheckpointer.inlineLimit) * 4096)
            // Wait for the other thread's copy, bounded; no fixed sleep.
            let deadline = ContinuousClock.now + .seconds(20)
            while size("") <= emptyFile, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(size("") > emptyFile, "the database file never grew: nothing checkpointed the log")
            let listed = try await store.incidents(IncidentQuery(status: .open, limit: 100_000))
            #expect(listed.count == batches * 50)
            try await store.close()
        }
    }

    /// Claims and delivery records commit without their own fsync; every other write,
    /// ingest first, must still wait for the disk afterwards, even when the claim failed.
    @Test func onlyOutboxBookkeepingSkipsTheFsync() async throws {
        try await Self.withStore { conformance in
            let store = try #require(conformance.store as? SQLiteStore)
            let t0 = conformance.t0
            func synchronous() async throws -> Int? {
                try await store.writer.run { try $0.rows("PRAGMA synchronous").first?.column("synchronous")?.integer }
            }
            #expect(try await synchronous() == 2)  // FULL
            _ = try await store.ingest([StoreConformance.routed("a")], now: t0)
            let claimed = try await store.claimDeliveries(now: t0, lease: .seconds(120), limit: 10, quota: .none)
            #expect(!claimed.isEmpty)
            let during = try await store.writer.transaction(durable: false) { db in
                try db.rows("PRAGMA synchronous").first?.column("synchronous")?.integer
            }
            #expect(during == 1)  // NORMAL
            #expect(try await synchronous() == 2)
            try await store.recordDeliveries(claimed.map { DeliveryRecord(id: $0.id, outcome: .delivered) }, now: t0)
            #expect(try await synchronous() == 2)
            await #expect(throws: (any Error).self) {
                try await store.writer.transaction(durable: false) { db in try db.run("INSERT INTO no_such_table VALUES (1)") }
            }
            #expect(try await synchronous() == 2)
        }
    }

    /// A snapshot that no longer decodes (a policy field added without a default) stops
    /// that incident's escalation, and its timeline says so instead of going quiet.
    @Test func anUnreadableSnapshotStopsEscalationVisibly() async throws {
        try await Self.withStore { conformance in
            let store = try #require(conformance.store as? SQLiteStore)
            let t0 = conformance.t0
            let id = try #require(try await store.ingest([StoreConformance.routed("a")], now: t0)[0].incidentID)
            try await store.writer.run { try $0.run(#"UPDATE policy_snapshots SET body = '{"name": "cdn-performance"}'"#) }
            let report = try await store.advanceEscalations(now: t0 + .seconds(900), limit: 10, context: .init())
            #expect(report.advanced == 1 && report.pages == 0)
            let detail = try #require(try await store.incident(id: id))
            #expect(detail.incident.nextEscalationAt == nil)
            #expect(detail.timeline.last?.detail?.contains("policy snapshot of this incident could not be read") == true)
        }
    }

    /// The writer keeps each policy's encoded snapshot between batches; a policy that
    /// changed under the same name must still get a snapshot of its own.
    @Test func aChangedPolicyGetsItsOwnSnapshot() async throws {
        try await Self.withStore { conformance in
            let store = try #require(conformance.store as? SQLiteStore)
            let t0 = conformance.t0
            var changed = StoreConformance.policy
            changed.tiers[0].escalateAfter = .seconds(300)
            var second = StoreConformance.routed("b", key: "k2")
            second.escalationPolicy = changed
            let first = try #require(try await store.ingest([StoreConformance.routed("a", key: "k1")], now: t0)[0].incidentID)
            let again = try #require(try await store.ingest([StoreConformance.routed("c", key: "k3")], now: t0)[0].incidentID)
            let other = try #require(try await store.ingest([second], now: t0)[0].incidentID)
            let snapshots = try await store.writer.run { try $0.snapshots(of: [first, again, other]) }
            #expect(snapshots[first] == StoreConformance.policy)
            #expect(snapshots[again] == StoreConformance.policy)
            #expect(snapshots[other] == changed)
            #expect(try await store.incident(id: other)?.incident.nextEscalationAt == t0 + .seconds(300))
        }
    }

    @Test func aSecondProcessCannotOpenTheSameFile() async throws {
        try await Self.withDatabasePath { path in
            let first = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            await #expect(throws: StoreError.unavailable("\(path) is in use by another alertbridge process")) {
                _ = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            }
            try await first.close()
            // Free once closed. (A child another test forks in the meantime holds a copy of the
            // descriptor, and with it the lock, until it runs its program: a moment, longer
            // when the machine is loaded. Once failed that way in a full run.)
            let freeBy = ContinuousClock.now + .seconds(10)
            var second: SQLiteStore?
            while second == nil {
                do { second = try await SQLiteStore.open(path: path, logger: Logger(label: "test")) }
                catch StoreError.unavailable where ContinuousClock.now < freeBy { try await Task.sleep(for: .milliseconds(50)) }
            }
            try await second?.close()
        }
    }

    /// The store file deleted while alertbridge runs (a cleanup, a rotation): it went on
    /// answering 202 into a file nothing can open by name, `/readyz` said ready, and the
    /// restart made a new, empty store there (black-box round 25). Now nothing more is
    /// written, ingest is told to retry, and the readiness check says why and where the
    /// file still is.
    @Test func aStoreFileDeletedWhileOpenTakesNoMoreWritesAndIsNotReady() async throws {
        try await Self.withDatabasePath { path in
            // Opened by a path relative to the working directory (`--store sqlite:ab.db`): the
            // message names the file by its absolute path, so its copy commands work from any
            // directory (black-box round 43).
            let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
            let relative = String(repeating: "../", count: depth) + path.dropFirst()
            let store = try await SQLiteStore.open(path: relative, logger: Logger(label: "test"))
            let now = SystemClock().now()
            _ = try await store.ingest([StoreConformance.routed("a", key: "Before")], now: now)
            try await store.ping()
            for suffix in ["", "-wal", "-shm"] { try FileManager.default.removeItem(atPath: path + suffix) }

            func isDeletedFile(_ error: any Error) -> Bool {
                guard case .unavailable(let why)? = error as? StoreError else { return false }
                return why.hasPrefix("the store file \(path) was deleted or replaced while alertbridge ran")
                    && why.contains("first copy it back, with its log (cp /proc/\(getpid())/fd/") && why.contains(" \(path)-wal)")
            }
            await #expect(performing: { try await store.ping() }, throws: isDeletedFile)
            await #expect(performing: { _ = try await store.ingest([StoreConformance.routed("b", key: "After")], now: now) },
                          throws: isDeletedFile)
            try await store.close()
        }
    }

    /// Only the file moved away, its log left where it was: one copy to make, and the
    /// message does not speak of a log (black-box round 44).
    @Test func aStoreFileMovedWithoutItsLogNamesOneCopy() async throws {
        try await Self.withDatabasePath { path in
            let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            _ = try await store.ingest([StoreConformance.routed("a", key: "Before")], now: SystemClock().now())
            try FileManager.default.moveItem(atPath: path, toPath: path + ".away")
            defer { try? FileManager.default.removeItem(atPath: path + ".away") }
            await #expect(performing: { try await store.ping() }, throws: { error in
                guard case .unavailable(let why)? = error as? StoreError else { return false }
                return why.hasSuffix("first copy it back (cp /proc/\(getpid())/fd/\(why.split(separator: "/fd/").last!.prefix { $0.isNumber }) \(path))")
            })
            try await store.close()
        }
    }

    /// A damaged file is refused at start, with what to do: one with damaged pages started,
    /// took alerts, and failed every escalation pass after (black-box round 25).
    @Test func aDamagedStoreIsRefusedAtStart() async throws {
        try await Self.withDatabasePath { path in
            let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            let now = SystemClock().now()
            _ = try await store.ingest((0..<2000).map { StoreConformance.routed("a", key: "Key/\($0)") }, now: now)
            try await store.close()
            let file = try #require(FileHandle(forUpdatingAtPath: path))
            let size = try file.seekToEnd()
            for page in stride(from: size / 4096 / 3, to: size / 4096 * 2 / 3, by: 4) {
                try file.seek(toOffset: page * 4096 + 100)
                try file.write(contentsOf: Data(repeating: 0xA5, count: 400))
            }
            try file.close()
            await #expect(performing: { _ = try await SQLiteStore.open(path: path, logger: Logger(label: "test")) }, throws: { error in
                guard case .unavailable(let why)? = error as? StoreError else { return false }
                return why.hasPrefix("the store at \(path) is damaged (")
                    && why.hasSuffix("): restore it from a backup, or move it aside to start with an empty store")
            })
        }
    }

    /// The store's threads say what they are in `top -H`, `ps -L` and `perf`: the writer
    /// whose share of a CPU sets the pace of a storm of new incidents, and the reader.
    @Test func theStoreThreadsAreNamed() async throws {
        try await Self.withDatabasePath { path in
            let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            // As `top -H` reads it.
            let name: @Sendable (SQLiteSession) throws -> String = { _ in
                try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8).trimmingCharacters(in: .newlines)
            }
            #expect(try await store.writer.run(name) == "sqlite-writer")
            #expect(try await store.reader.run(name) == "sqlite-reader")
            try await store.close()
        }
    }

    /// A file a newer build migrated is refused at start, with what to do, and left as it
    /// was: an older build would drop what it does not know when it rewrites a row.
    @Test func aFileMigratedByANewerBuildIsRefused() async throws {
        try await Self.withDatabasePath { path in
            try await SQLiteStore.open(path: path, logger: Logger(label: "test")).close()
            let newer = SQLiteMigrations.all.count + 1
            let raw = try await SQLiteWorker.open(path: path)
            try await raw.run { try $0.run("INSERT INTO schema_migrations VALUES (?, 0)", [.integer(newer)]) }
            try await raw.close()
            await #expect(throws: StoreError.newerSchema(found: newer, known: newer - 1)) {
                try await SQLiteStore.open(path: path, logger: Logger(label: "test")).close()
            }
            // Refused before anything ran: nothing was migrated or removed.
            let again = try await SQLiteWorker.open(path: path)
            let count = try await again.run { try $0.rows("SELECT COUNT(*) AS n FROM schema_migrations").first?.column("n")?.integer }
            #expect(count == newer)
            // The refused process let go of the file: once a build knows the schema, it opens.
            try await again.run { try $0.run("DELETE FROM schema_migrations WHERE version = ?", [.integer(newer)]) }
            try await again.close()
            try await SQLiteStore.open(path: path, logger: Logger(label: "test")).close()
        }
    }

    /// A file written before policy snapshots had a table of their own (schema 1) keeps
    /// each incident's snapshot: the incident escalates by the policy it was opened with.
    @Test func schemaOneSnapshotsMoveToTheirTable() async throws {
        try await Self.withDatabasePath { path in
            let t0 = Timestamp(seconds: 1_795_457_100)
            let old = try await SQLiteWorker.open(path: path)
            let policy = String(decoding: try SQLiteSession.encoder.encode(StoreConformance.policy), as: UTF8.self)
            try await old.run { db in
                try db.run("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
                for statement in SQLiteMigrations.all[0].statements { try db.run(statement) }
                try db.run("INSERT INTO schema_migrations VALUES (1, 0)")
                try db.run("""
                    INSERT INTO incidents (id, dedup_key, status, title, severity, labels, annotations, rule, policy, tier,
                        alert_count, firing_count, created_at, last_alert_at, escalation, policy_snapshot)
                    VALUES (7, 'k', 'triggered', 't', 'critical', '{}', '{}', 'latency', 'cdn-performance', 1, 1, 1, ?1, ?1,
                            '{"step":1,"cycle":0,"ended":false,"ackSLABreached":false,"resolveSLABreached":false}', ?2)
                    """, [.integer(Int(t0.milliseconds)), .text(policy)])
            }
            try await old.close()

            let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            let escalated = try await store.escalate(id: 7, by: "bob", now: t0 + .seconds(60))
            #expect(escalated.tier == 2)
            let pages = try await store.claimDeliveries(now: t0 + .seconds(60), lease: .seconds(60), limit: 10, quota: .none)
            #expect(pages.map(\.tierName) == ["rnd"])
            try await store.close()
        }
    }

    @Test func concurrentIngestsShareTransactionsAndGetTheirOwnOutcomes() async throws {
        try await Self.withStore { conformance in
            let store = try #require(conformance.store as? SQLiteStore)
            let t0 = conformance.t0
            let results = try await withThrowingTaskGroup(of: (Int, [IngestOutcome]).self) { group in
                for i in 0..<200 {
                    group.addTask { (i, try await store.ingest([StoreConformance.routed("h", key: "K\(i % 50)")], now: t0)) }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            #expect(results.count == 200)
            for (i, outcomes) in results {
                #expect(outcomes.count == 1)
                #expect(outcomes[0].dedupKey == "K\(i % 50)")
            }
            #expect(store.ingests.transactions < 200)  // group commit: fewer transactions than callers
            let incidents = try await store.incidents(IncidentQuery(status: .all, limit: 1000))
            #expect(incidents.count == 50)
            #expect(incidents.map(\.alertCount).reduce(0, +) == 200)
        }
    }

    /// Between two ingest batches the SQLite writer runs whatever else was queued for it
    /// (an acknowledgement, an escalation), so an alert storm cannot starve those.
    @Test func theWriterLetsOtherWritesInBetweenIngestBatches() async throws {
        try await Self.withDatabasePath { path in
            let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"), ingestBatchLimit: 1)
            let t0 = Timestamp(seconds: 1_795_457_100)
            let seen = Shared<Int?>(nil)
            let ingests = Shared<[Task<[IngestOutcome], any Error>]>([])
            // On the writer's thread: queue two ingests (one batch each), then other work
            // behind the first batch, and only then let the writer go on.
            try await store.writer.run { _ in
                for key in ["A", "B"] {
                    let before = store.ingests.waiting
                    let task = Task { try await store.ingest([StoreConformance.routed("h", key: key)], now: t0) }
                    ingests.withLock { $0.append(task) }
                    while store.ingests.waiting == before { sched_yield() }
                }
                store.writer.submit { db in
                    seen.withLock { $0 = try? db?.rows("SELECT COUNT(*) AS n FROM incidents").first?.column("n")?.integer }
                }
            }
            for task in ingests.withLock({ $0 }) { _ = try await task.value }
            #expect(seen.withLock { $0 } == 1)  // after the first batch, before the second
            #expect(try await store.incidents(IncidentQuery(status: .all, limit: 10)).count == 2)
            try await store.close()
        }
    }

    @Test func ingestIntoAClosedStoreFailsInsteadOfWaiting() async throws {
        try await Self.withDatabasePath { path in
            let store = try await SQLiteStore.open(path: path, logger: Logger(label: "test"))
            try await store.close()
            await #expect(throws: StoreError.unavailable("the store is closed")) {
                try await store.ingest([StoreConformance.routed("a")], now: Timestamp(seconds: 1_795_457_100))
            }
        }
    }
}
