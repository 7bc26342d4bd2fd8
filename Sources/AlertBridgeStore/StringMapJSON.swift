/// Reads the label and annotation columns back: flat JSON objects of strings, as
/// `JSONWriter` stores them in SQLite and as PostgreSQL prints a `jsonb` (with a space
/// after each `:` and `,`).
///
/// Every page the dispatcher sends reads its incident and alerts back, and
/// `JSONDecoder` took two thirds of that reader's time on these small objects. This
/// reads the common case, no escapes, in one pass over the bytes; anything else (an
/// escaped quote in an annotation, a number) returns `nil`, and the caller decodes it
/// with `JSONDecoder`, so the fast path never has to be complete.
enum StringMapJSON {
    static func decode(_ text: String) -> [String: String]? {
        var text = text
        return text.withUTF8 { bytes -> [String: String]? in
            var i = 0
            let end = bytes.count
            /// A string's contents from just after its opening quote; nil on an escape.
            func string() -> String? {
                let start = i
                while i < end {
                    switch bytes[i] {
                    case UInt8(ascii: "\""):
                        defer { i += 1 }
                        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                    case UInt8(ascii: "\\"): return nil
                    default: i += 1
                    }
                }
                return nil
            }
            func skipWhitespace() {
                while i < end {
                    switch bytes[i] {
                    case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"): i += 1
                    default: return
                    }
                }
            }
            /// Skips whitespace, then consumes `byte` if it is next.
            func expect(_ byte: UInt8) -> Bool {
                skipWhitespace()
                guard i < end, bytes[i] == byte else { return false }
                i += 1
                return true
            }
            func expectEnd() -> Bool {
                skipWhitespace()
                return i == end
            }
            guard expect(UInt8(ascii: "{")) else { return nil }
            var map: [String: String] = [:]
            if expect(UInt8(ascii: "}")) { return expectEnd() ? map : nil }
            repeat {
                guard expect(UInt8(ascii: "\"")), let key = string(), expect(UInt8(ascii: ":")),
                      expect(UInt8(ascii: "\"")), let value = string() else { return nil }
                map[key] = value
            } while expect(UInt8(ascii: ","))
            return expect(UInt8(ascii: "}")) && expectEnd() ? map : nil
        }
    }
}
