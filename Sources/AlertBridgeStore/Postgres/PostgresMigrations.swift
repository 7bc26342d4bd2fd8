/// Versioned schema migrations for the PostgreSQL store. Append, never edit.
///
/// The same shape as the SQLite schema: times are BIGINT milliseconds since the epoch,
/// label sets, escalation state and policy snapshots are JSONB.
enum PostgresMigrations {
    /// `pg_advisory_xact_lock(bigint)` key held while migrating ("alertbri" in ASCII).
    static let lockKey: Int64 = 0x616C_6572_7462_7269
    /// First half of the `pg_advisory_xact_lock(int, int)` pair that guards one dedup key.
    static let keyLockClass: Int32 = 0x4142_4B31
    /// The `(int, int)` advisory lock between ingests (shared) and a silence's expire or
    /// extension (exclusive), with second half 0.
    static let silenceLockClass: Int32 = 0x4142_5331

    static let all: [(version: Int, statements: [String])] = [
        (1, [
            """
            CREATE TABLE incidents (
                id BIGSERIAL PRIMARY KEY,
                dedup_key TEXT NOT NULL,
                status TEXT NOT NULL,
                title TEXT NOT NULL,
                severity TEXT NOT NULL,
                labels JSONB NOT NULL,
                annotations JSONB NOT NULL,
                rule TEXT NOT NULL,
                policy TEXT NOT NULL,
                tier BIGINT NOT NULL,
                alert_count BIGINT NOT NULL,
                firing_count BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                last_alert_at BIGINT NOT NULL,
                acknowledged_at BIGINT,
                acknowledged_by TEXT,
                resolved_at BIGINT,
                resolved_by TEXT,
                next_escalation_at BIGINT,
                escalation JSONB NOT NULL,
                -- The policy as loaded when the incident was created or reopened.
                policy_snapshot JSONB
            )
            """,
            // One open incident per dedup key, enforced by the database itself.
            "CREATE UNIQUE INDEX incidents_open_key ON incidents(dedup_key) WHERE status <> 'resolved'",
            "CREATE INDEX incidents_key ON incidents(dedup_key, id)",
            "CREATE INDEX incidents_status ON incidents(status, id)",
            "CREATE INDEX incidents_open_rule ON incidents(rule) WHERE status <> 'resolved'",
            "CREATE INDEX incidents_due ON incidents(next_escalation_at) WHERE next_escalation_at IS NOT NULL",
            """
            CREATE TABLE alerts (
                incident_id BIGINT NOT NULL REFERENCES incidents(id),
                fingerprint TEXT NOT NULL,
                status TEXT NOT NULL,
                severity TEXT NOT NULL,
                summary TEXT NOT NULL,
                labels JSONB NOT NULL,
                annotations JSONB NOT NULL,
                source TEXT NOT NULL,
                value DOUBLE PRECISION,
                threshold DOUBLE PRECISION,
                starts_at BIGINT,
                ends_at BIGINT,
                first_seen_at BIGINT NOT NULL,
                last_seen_at BIGINT NOT NULL,
                received_count BIGINT NOT NULL,
                PRIMARY KEY (incident_id, fingerprint)
            )
            """,
            """
            CREATE TABLE timeline (
                id BIGSERIAL PRIMARY KEY,
                incident_id BIGINT NOT NULL REFERENCES incidents(id),
                at BIGINT NOT NULL,
                kind TEXT NOT NULL,
                "by" TEXT,
                detail TEXT
            )
            """,
            "CREATE INDEX timeline_incident ON timeline(incident_id, id)",
            // The notification outbox: written in the transaction that decided the page.
            """
            CREATE TABLE outbox (
                id BIGSERIAL PRIMARY KEY,
                incident_id BIGINT NOT NULL REFERENCES incidents(id),
                step BIGINT NOT NULL,
                event TEXT NOT NULL,
                tier BIGINT NOT NULL,
                tier_name TEXT NOT NULL,
                target BIGINT NOT NULL,
                connector TEXT NOT NULL,
                recipients JSONB NOT NULL,
                status TEXT NOT NULL,
                attempts BIGINT NOT NULL,
                next_attempt_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                sent_at BIGINT,
                last_error TEXT,
                UNIQUE (incident_id, step, event, tier, target)
            )
            """,
            "CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'pending'",
        ]),
        // Silences (maintenance windows), `matchers` a JSON array of quoted matcher texts;
        // and heartbeats, from their first ping.
        (2, [
            """
            CREATE TABLE silences (
                id BIGSERIAL PRIMARY KEY,
                matchers JSONB NOT NULL,
                starts_at BIGINT NOT NULL,
                ends_at BIGINT NOT NULL,
                created_by TEXT NOT NULL,
                comment TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expired_by TEXT
            )
            """,
            "CREATE INDEX silences_ends ON silences(ends_at)",
            """
            CREATE TABLE heartbeats (
                name TEXT PRIMARY KEY,
                last_ping_at BIGINT NOT NULL,
                -- A missed alert being sent (written before it), and sent (after it).
                miss_started_at BIGINT,
                miss_sent_at BIGINT
            )
            """,
        ]),
        // No table changes: the stored escalation state gained `inhibitedBy` and incidents'
        // `policy` may now change (severity_policies). The number alone makes a build that
        // does not know them refuse the database instead of dropping them (SchemaVersion).
        (3, []),
        // Who last extended a silence (`alertbridge silence extend`, which moves its end).
        (4, ["ALTER TABLE silences ADD COLUMN extended_by TEXT"]),
        // The retry time of a page waiting out its connector's back-off (see
        // ``DeliveryRecord/waitsOutBackoff``), which a delivery to that connector ends.
        (5, ["ALTER TABLE outbox ADD COLUMN backoff_until BIGINT",
             "CREATE INDEX outbox_backoff ON outbox(connector) WHERE backoff_until IS NOT NULL"]),
        // The incidents of a rule resolved lately: an incident at the end of its inhibit wait
        // is held by a source that was open during it (``PostgresStore/resolvedIncidents(_:rules:since:logger:)``).
        (6, ["CREATE INDEX incidents_rule_resolved ON incidents(rule, resolved_at) WHERE status = 'resolved'"]),
        // Who claimed a page being sent, and when: the key of the claiming instance's lock,
        // so that another instance takes the page back soon after that lock is gone
        // (``InstanceLock``). Cleared when the page is put back to wait for a retry; a
        // finished page keeps them (which instance sent it, and when).
        (7, ["ALTER TABLE outbox ADD COLUMN claimed_by BIGINT",
             "ALTER TABLE outbox ADD COLUMN claimed_at BIGINT",
             "CREATE INDEX outbox_claimed ON outbox(claimed_at) WHERE status = 'pending' AND claimed_by IS NOT NULL"]),
    ]
}
