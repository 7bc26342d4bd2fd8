import Foundation

/// Prints each page to standard output: a first run shows the whole flow with no
/// mail or chat set up, and tests can see what would have been sent.
public struct ConsoleConnector: Connector {
    let write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void = ConsoleConnector.standardOutput) {
        self.write = write
    }

    public func deliver(_ page: PageMessage) async throws(DeliveryError) -> Delivered {
        let d = page.delivery
        let recipients = d.recipients.isEmpty ? "" : " to \(d.recipients.joined(separator: ", "))"
        // A notice calls nobody to act: it must not read as a page.
        let kind = d.event.isNotice ? "NOTICE" : "PAGE"
        let header = "=== \(kind) tier \(d.tier) (\(d.tierName))\(recipients) via \(d.connector): \(PageText.subject(page))"
        write(header + "\n" + PageText.body(page) + "\n")
        return .toAll
    }

    public static let standardOutput: @Sendable (String) -> Void = { text in
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
