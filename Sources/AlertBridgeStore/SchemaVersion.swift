/// The guard both stores run before migrating.
enum SchemaVersion {
    /// Refuses a store that a newer build has migrated.
    ///
    /// An older build would otherwise start and quietly ignore (or misread) what the newer
    /// schema holds: silences it cannot see, state fields it drops when it rewrites a row.
    /// Refusing at start is the one moment the operator is watching.
    static func refuseNewer(_ applied: Set<Int>, known: [Int]) throws {
        let newest = known.max() ?? 0
        if let found = applied.max(), found > newest {
            throw StoreError.newerSchema(found: found, known: newest)
        }
    }
}
