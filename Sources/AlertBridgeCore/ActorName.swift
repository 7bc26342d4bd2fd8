/// Who acts on an incident or a silence, as the timeline and the silence list show it.
public enum ActorName {
    /// Why `by` cannot name who acts, or `nil`: 1 to 128 bytes, not blank, one line. A name
    /// holding a line break or an escape sequence wrote a forged line in the log and on
    /// console pages, and reached a terminal (black-box round 28): a name has no reason to
    /// hold one, so it is refused rather than cleaned. The server checks it, and the CLI
    /// before sending, so a typo there is a usage error (black-box round 34).
    public static func problem(_ by: String?) -> String? {
        guard let by, !by.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, by.utf8.count <= 128 else {
            return "must name who acts (1 to 128 bytes)"
        }
        guard !by.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.isDirectionOverride }) else {
            return "must be one line of text, without control characters or direction overrides"
        }
        return nil
    }
}
