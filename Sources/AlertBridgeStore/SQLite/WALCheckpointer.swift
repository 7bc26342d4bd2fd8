import NIOConcurrencyHelpers
import VaporCSQLite

/// Copies the write-ahead log back into the database file on a thread and connection of
/// its own, so the writer does not.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold: the
/// writer copies a thousand pages and fsyncs the database file while every caller of that
/// batch waits for its 202. Here the writer's commit only notices that the log has grown
/// and hands the copy to this thread (a passive checkpoint, which never blocks the
/// writer). Should the log still reach ``inlineLimit`` pages (this thread starved of CPU,
/// or a reader holding an old snapshot), the writer checkpoints inline as SQLite would,
/// which bounds the log's size.
final class WALCheckpointer: Sendable {
    /// Log pages after which a commit asks for a checkpoint: SQLite's own default.
    static let threshold: Int32 = 1_000
    /// Log pages after which the writer checkpoints inline.
    static let inlineLimit: Int32 = 10_000

    private let worker: SQLiteWorker
    /// The log's size when a checkpoint was last asked for: the next is asked for when
    /// ``threshold`` more pages have been written since (or the log started over), so
    /// each page is copied about once per thousand, as with SQLite's own checkpoints,
    /// however often the writer commits.
    private let askedAt = NIOLockedValueBox<Int32>(0)

    private init(worker: SQLiteWorker) {
        self.worker = worker
    }

    /// Opens the checkpointing connection to the database at `path`.
    static func open(path: String) async throws -> WALCheckpointer {
        let worker = try await SQLiteWorker.open(path: path, name: "sqlite-checkpt")
        do {
            try await worker.run { db in
                // Sync the log before copying and the file after, whatever the default.
                try db.run("PRAGMA synchronous=FULL")
                // It copies pages from the log to the file and keeps none of them.
                try db.run("PRAGMA cache_size=-64")
            }
        } catch {
            try? await worker.close()
            throw error
        }
        return WALCheckpointer(worker: worker)
    }

    /// Installs the commit hook on the writer's connection (on the writer's thread).
    func attach(to writer: SQLiteSession) {
        writer.onWALCommit(Unmanaged.passUnretained(self).toOpaque()) { context, db, _, pages in
            let checkpointer = Unmanaged<WALCheckpointer>.fromOpaque(context!).takeUnretainedValue()
            return checkpointer.committed(walPages: pages, writer: db)
        }
    }

    /// Removes the hook; call before the writer closes and before this is released.
    func detach(from writer: SQLiteSession) {
        writer.onWALCommit(nil, nil)
    }

    private func committed(walPages: Int32, writer: OpaquePointer?) -> Int32 {
        if walPages >= Self.inlineLimit {
            // As SQLite's own hook: the commit has happened whatever this returns, and an
            // error here would make it report failure (a busy checkpointer is no failure).
            _ = sqlite_nio_sqlite3_wal_checkpoint_v2(writer, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            return SQLITE_OK
        }
        let ask = askedAt.withLockedValue { askedAt in
            if walPages < askedAt { askedAt = 0 }  // the log started over
            guard walPages >= askedAt + Self.threshold else { return false }
            askedAt = walPages
            return true
        }
        if ask {
            // A busy writer or reader only makes this copy shorter; the next one goes on.
            worker.submit { db in try? db?.run("PRAGMA wal_checkpoint(PASSIVE)") }
        }
        return SQLITE_OK
    }

    func close() async throws {
        try await worker.close()
    }
}
