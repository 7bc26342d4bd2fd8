/// Versioned schema migrations for the SQLite store. Append, never edit.
enum SQLiteMigrations {
    static let all: [(version: Int, statements: [String])] = [
        (1, [
            """
            CREATE TABLE incidents (
                id INTEGER PRIMARY KEY,
                dedup_key TEXT NOT NULL,
                status TEXT NOT NULL,
                title TEXT NOT NULL,
                severity TEXT NOT NULL,
                labels TEXT NOT NULL,
                annotations TEXT NOT NULL,
                rule TEXT NOT NULL,
                policy TEXT NOT NULL,
                tier INTEGER NOT NULL,
                alert_count INTEGER NOT NULL,
                firing_count INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                last_alert_at INTEGER NOT NULL,
                acknowledged_at INTEGER,
                acknowledged_by TEXT,
                resolved_at INTEGER,
                resolved_by TEXT,
                next_escalation_at INTEGER,
                escalation TEXT NOT NULL,
                -- The policy as loaded when the incident was created or reopened.
                policy_snapshot TEXT
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
                incident_id INTEGER NOT NULL REFERENCES incidents(id),
                fingerprint TEXT NOT NULL,
                status TEXT NOT NULL,
                severity TEXT NOT NULL,
                summary TEXT NOT NULL,
                labels TEXT NOT NULL,
                annotations TEXT NOT NULL,
                source TEXT NOT NULL,
                value REAL,
                threshold REAL,
                starts_at INTEGER,
                ends_at INTEGER,
                first_seen_at INTEGER NOT NULL,
                last_seen_at INTEGER NOT NULL,
                received_count INTEGER NOT NULL,
                PRIMARY KEY (incident_id, fingerprint)
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE timeline (
                id INTEGER PRIMARY KEY,
                incident_id INTEGER NOT NULL REFERENCES incidents(id),
                at INTEGER NOT NULL,
                kind TEXT NOT NULL,
                by TEXT,
                detail TEXT
            )
            """,
            "CREATE INDEX timeline_incident ON timeline(incident_id, id)",
            // The notification outbox: written in the transaction that decided the page.
            """
            CREATE TABLE outbox (
                id INTEGER PRIMARY KEY,
                incident_id INTEGER NOT NULL REFERENCES incidents(id),
                step INTEGER NOT NULL,
                event TEXT NOT NULL,
                tier INTEGER NOT NULL,
                tier_name TEXT NOT NULL,
                target INTEGER NOT NULL,
                connector TEXT NOT NULL,
                recipients TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt_at INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                sent_at INTEGER,
                last_error TEXT,
                UNIQUE (incident_id, step, event, tier, target)
            )
            """,
            "CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status = 'pending'",
        ]),
        // Policy snapshots stored once per distinct policy instead of once per incident:
        // an incident row shrinks by half, and so does what each commit writes.
        (2, [
            "CREATE TABLE policy_snapshots (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)",
            "ALTER TABLE incidents ADD COLUMN policy_snapshot_id INTEGER REFERENCES policy_snapshots(id)",
            """
            INSERT OR IGNORE INTO policy_snapshots (body)
            SELECT DISTINCT policy_snapshot FROM incidents WHERE policy_snapshot IS NOT NULL
            """,
            """
            UPDATE incidents SET policy_snapshot_id = (SELECT id FROM policy_snapshots p WHERE p.body = incidents.policy_snapshot)
            WHERE policy_snapshot IS NOT NULL
            """,
            "ALTER TABLE incidents DROP COLUMN policy_snapshot",
        ]),
        // Silences (maintenance windows), `matchers` a JSON array of quoted matcher texts;
        // and heartbeats, from their first ping.
        (3, [
            """
            CREATE TABLE silences (
                id INTEGER PRIMARY KEY,
                matchers TEXT NOT NULL,
                starts_at INTEGER NOT NULL,
                ends_at INTEGER NOT NULL,
                created_by TEXT NOT NULL,
                comment TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                expired_by TEXT
            )
            """,
            "CREATE INDEX silences_ends ON silences(ends_at)",
            """
            CREATE TABLE heartbeats (
                name TEXT PRIMARY KEY,
                last_ping_at INTEGER NOT NULL,
                -- A missed alert being sent (written before it), and sent (after it).
                miss_started_at INTEGER,
                miss_sent_at INTEGER
            )
            """,
        ]),
        // No table changes: the stored escalation state gained `inhibitedBy` and incidents'
        // `policy` may now change (severity_policies). The number alone makes a build that
        // does not know them refuse the file instead of dropping them (SchemaVersion).
        (4, []),
        // Who last extended a silence (`alertbridge silence extend`, which moves its end).
        (5, ["ALTER TABLE silences ADD COLUMN extended_by TEXT"]),
        // The retry time of a page waiting out its connector's back-off (see
        // ``DeliveryRecord/waitsOutBackoff``), which a delivery to that connector ends.
        (6, ["ALTER TABLE outbox ADD COLUMN backoff_until INTEGER",
             "CREATE INDEX outbox_backoff ON outbox(connector) WHERE backoff_until IS NOT NULL"]),
        // The incidents of a rule resolved lately: an incident at the end of its inhibit wait
        // is held by a source that was open during it (``SQLiteSession/resolvedIncidents(rules:since:)``).
        (7, ["CREATE INDEX incidents_rule_resolved ON incidents(rule, resolved_at) WHERE status = 'resolved'"]),
    ]
}
