import AlertBridgeCore
import Logging
import PostgresNIO

/// Heartbeats: one row each from its first ping.
extension PostgresStore {
    public func heartbeats() async throws -> [HeartbeatState] {
        let logger = self.logger
        return try await withConnection { db in
            var out: [HeartbeatState] = []
            for try await (name, lastPing, missed) in try await db.query(
                "SELECT name, last_ping_at, missed_at FROM heartbeats ORDER BY name", logger: logger
            ).decode((String, Int64, Int64?).self) {
                out.append(HeartbeatState(name: name, lastPingAt: Timestamp(milliseconds: lastPing),
                                          missedAt: missed.map(Timestamp.init(milliseconds:))))
            }
            return out
        }
    }

    public func pingHeartbeat(name: String, at now: Timestamp) async throws {
        let logger = self.logger
        try await transaction { db in
            _ = try await db.query("""
                INSERT INTO heartbeats (name, last_ping_at) VALUES (\(name), \(now.milliseconds))
                ON CONFLICT (name) DO UPDATE SET last_ping_at = EXCLUDED.last_ping_at, missed_at = NULL
                """, logger: logger)
        }
    }

    public func markHeartbeatsMissed(names: [String], at now: Timestamp) async throws {
        let logger = self.logger
        try await transaction { db in
            _ = try await db.query(
                "UPDATE heartbeats SET missed_at = \(now.milliseconds) WHERE name = ANY(\(names)::text[])", logger: logger)
        }
    }

    public func clearHeartbeatMissed(name: String, missedAt: Timestamp) async throws {
        let logger = self.logger
        try await transaction { db in
            _ = try await db.query(
                "UPDATE heartbeats SET missed_at = NULL WHERE name = \(name) AND missed_at = \(missedAt.milliseconds)",
                logger: logger)
        }
    }
}
