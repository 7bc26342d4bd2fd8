/// Where the store lives, from `store:` in alertbridge.yaml or `--store`.
public enum StoreLocation: Sendable, Equatable {
    /// `sqlite:alertbridge.db` (a path) or `sqlite::memory:`.
    case sqlite(path: String)

    public init(parsing text: String) throws(StoreError) {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw .invalidLocation("store \"\(text)\" names no file") }
            self = .sqlite(path: path)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            throw .invalidLocation("store \"\(text)\": PostgreSQL support is not built yet; use sqlite:FILE")
        } else {
            throw .invalidLocation("store \"\(text)\" is neither sqlite:FILE nor postgres://...")
        }
    }
}
