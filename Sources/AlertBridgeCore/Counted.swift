/// `1 incident`, `3 incidents`, `2 policies`: a count and its noun, for log lines and
/// summaries.
public func counted(_ count: Int, _ one: String, _ many: String? = nil) -> String {
    "\(count) \(count == 1 ? one : many ?? one + "s")"
}
