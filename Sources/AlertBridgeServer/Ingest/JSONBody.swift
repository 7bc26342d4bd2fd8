import Foundation
import Hummingbird

/// A request body for `JSONDecoder` (the PagerDuty and operator endpoints).
enum JSONBody {
    /// The body's bytes with every `\u0000` escape made `\uFFFD`, as the ingest reader
    /// does: PostgreSQL stores no NUL in text or jsonb, and a NUL that reached it would
    /// fail the whole transaction, with every other request committed in it.
    static func data(_ buffer: ByteBuffer) -> Data {
        var bytes = Array(buffer.readableBytesView)
        var i = 0
        while i + 5 < bytes.count {
            guard bytes[i] == UInt8(ascii: "\\") else { i += 1; continue }
            if bytes[i + 1] == UInt8(ascii: "u"), bytes[(i + 2)...(i + 5)].elementsEqual("0000".utf8) {
                bytes.replaceSubrange((i + 2)...(i + 5), with: "FFFD".utf8)
            }
            i += 2  // an escape: `\\u0000` is a backslash and the text "u0000"
        }
        return Data(bytes)
    }
}
