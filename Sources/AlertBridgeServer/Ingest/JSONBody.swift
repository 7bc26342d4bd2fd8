import Foundation
import Hummingbird

/// A request body for `JSONDecoder` (the PagerDuty and operator endpoints).
enum JSONBody {
    /// Decodes a body, or throws the ``APIError`` that names the field, or for broken JSON
    /// where it breaks (`at line 1, column 20 (byte 19)`, as the ingest readers say it).
    /// The ingest reader checks the syntax first: JSONDecoder takes what JSON does not (a
    /// trailing comma, `01`, a bad escape in a member it skips: a note was stored from
    /// one, round 22), and says only "The given data was not valid JSON" of the rest.
    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws(APIError) -> T {
        if let broken = syntaxError(in: buffer) { throw broken }
        do {
            return try JSONDecoder().decode(T.self, from: data(buffer))
        } catch {
            throw DecodingErrors.apiError(error)
        }
    }

    /// Where the body's JSON breaks, in the ingest reader's words; `nil` if it reads.
    private static func syntaxError(in buffer: ByteBuffer) -> APIError? {
        buffer.withUnsafeReadableBytes { raw in
            var reader = JSONReader(raw.bindMemory(to: UInt8.self))
            do throws(APIError) {
                try reader.skipValue()
                try reader.expectEnd()
                return nil
            } catch {
                return error
            }
        }
    }

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
