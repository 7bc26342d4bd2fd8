/// What an email connector sends to and from: `check` refuses a policy's `to:` entry
/// that delivery would refuse at the first page.
public enum EmailAddress {
    /// A plain `local@domain`: no spaces, controls, brackets or separators that would
    /// break the SMTP command or the header.
    public static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, text.utf8.count <= 254 else { return false }
        return !text.unicodeScalars.contains { $0.value <= 0x20 || $0.value == 0x7f || "<>(),;:\\\"[]".unicodeScalars.contains($0) }
    }
}
