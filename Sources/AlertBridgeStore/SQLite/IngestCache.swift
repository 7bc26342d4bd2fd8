import AlertBridgeCore

/// What the SQLite writer knows of recently seen dedup keys, exactly as committed: the
/// latest incident of each key and the state of every alert of that incident.
///
/// An alert storm merges into the same few incidents batch after batch; with this, a batch
/// reads nothing from the file for keys it has seen, and looks up only the others. A key
/// is remembered from the second batch that names it on, so keys seen once (a storm of
/// new incidents) take no memory and no time here. It is
/// sound because the SQLite store is the file's only writer (``SQLiteStore`` holds an
/// exclusive lock), ingest updates it only after its transaction commits, and every
/// other write (operator actions, escalations) forgets the keys it touches. Bounded:
/// past ``capacity`` keys it starts over, which costs one lookup per key.
///
/// Not thread-safe: only closures running on the writer's thread touch it.
final class IngestCache: @unchecked Sendable {
    struct AlertState: Sendable {
        var status: AlertStatus
        var startsAt: Timestamp?
        var endsAt: Timestamp?
    }

    struct Entry: Sendable {
        var incident: Incident
        /// By fingerprint.
        var alerts: [String: AlertState]
    }

    /// The planner's inputs for a batch.
    struct Known {
        var incidents: [String: Incident] = [:]
        var status: [IngestPlanner.AlertKey: AlertStatus] = [:]
        var ends: [IngestPlanner.AlertKey: Timestamp] = [:]
        var starts: [IngestPlanner.AlertKey: Timestamp] = [:]
    }

    let capacity: Int
    private var entries: [String: Entry] = [:]

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// The latest incident and alert states of each key; keys not remembered are read
    /// with `loading` (which returns only the keys that have an incident).
    func lookUp(_ keys: Set<String>, loading: ([String]) throws -> [String: Entry]) throws -> Known {
        var known = Known()
        known.incidents.reserveCapacity(keys.count)
        known.status.reserveCapacity(keys.count)
        known.starts.reserveCapacity(keys.count)
        var missing: [String] = []
        for key in keys {
            if let entry = entries[key] { add(entry, to: &known) } else { missing.append(key) }
        }
        if !missing.isEmpty {
            for (key, entry) in try loading(missing) {
                entries[key] = entry
                add(entry, to: &known)
            }
        }
        return known
    }

    private func add(_ entry: Entry, to known: inout Known) {
        let id = entry.incident.id
        known.incidents[entry.incident.dedupKey] = entry.incident
        for (fingerprint, state) in entry.alerts {
            let key = IngestPlanner.AlertKey(incidentID: id, fingerprint: fingerprint)
            known.status[key] = state.status
            if state.status == .resolved, let end = state.endsAt { known.ends[key] = end }
            if state.status == .firing, let start = state.startsAt { known.starts[key] = start }
        }
    }

    /// Applies a committed ingest plan, as the store's statements applied it to the rows.
    ///
    /// Entries are updated in place through their dictionary index: every alert of a
    /// storm passes here, and looking its key up again (or copying its entry out and
    /// back) for each change was the writer's costliest step after SQLite itself.
    func remember(_ plan: IngestPlanner.Plan) {
        if entries.count > capacity { entries.removeAll(keepingCapacity: true) }
        // Indices stay valid while only values change; the keys to drop go last.
        var entryOf: [Int64: Dictionary<String, Entry>.Index] = [:]
        entryOf.reserveCapacity(plan.incidents.count)
        var dropped: [String] = []
        for incident in plan.incidents {
            if let index = entries.index(forKey: incident.dedupKey), entries.values[index].incident.id == incident.id {
                entries.values[index].incident = incident
                entryOf[incident.id] = index
            } else {
                // A new incident (or one that replaced its key's resolved one) is read back
                // when a later batch names its key: a flood of one-off keys costs no memory.
                dropped.append(incident.dedupKey)
            }
        }
        for id in plan.resolvedIncidentIDs {
            guard let index = entryOf[id] else { continue }
            entries.values[index].alerts = entries.values[index].alerts.mapValues {
                AlertState(status: .resolved, startsAt: $0.startsAt, endsAt: $0.endsAt)
            }
        }
        for change in plan.alerts {
            guard let index = entryOf[change.incidentID] else { continue }
            entries.values[index].alerts[change.alert.fingerprint] = AlertState(
                status: change.alert.status, startsAt: change.alert.startsAt, endsAt: change.alert.endsAt)
        }
        for key in dropped { entries[key] = nil }
    }

    /// Drops a key after a write other than ingest changed its incident.
    func forget(_ key: String) {
        entries[key] = nil
    }
}
