/// SQL of the `alerts` table that both stores run as written.
enum AlertRowSQL {
    /// What a newer copy of an alert sets on its row (`ON CONFLICT … DO UPDATE SET`, with
    /// `excluded` the copy). A recovery keeps what fired: its summary, severity and
    /// annotations, its value while it has none, and its start when it has none. A native
    /// recovery often carries only its labels, and replaced "5xx 9% on edge-a" with the
    /// alert's name in `show` (black-box round 23).
    static let onConflictSet = """
        status = excluded.status,
        severity = CASE WHEN excluded.status = 'resolved' THEN alerts.severity ELSE excluded.severity END,
        summary = CASE WHEN excluded.status = 'resolved' THEN alerts.summary ELSE excluded.summary END,
        labels = excluded.labels,
        annotations = CASE WHEN excluded.status = 'resolved' THEN alerts.annotations ELSE excluded.annotations END,
        source = excluded.source,
        value = COALESCE(excluded.value, CASE WHEN excluded.status = 'resolved' THEN alerts.value END),
        threshold = COALESCE(excluded.threshold, CASE WHEN excluded.status = 'resolved' THEN alerts.threshold END),
        starts_at = COALESCE(excluded.starts_at, CASE WHEN excluded.status = 'resolved' THEN alerts.starts_at END),
        ends_at = excluded.ends_at, last_seen_at = excluded.last_seen_at,
        received_count = alerts.received_count + excluded.received_count
        """
}
