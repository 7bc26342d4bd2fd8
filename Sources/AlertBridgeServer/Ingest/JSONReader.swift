/// A forward-only, single-pass reader of one JSON text (RFC 8259) in UTF-8 bytes.
///
/// The ingest formats read their alerts through it straight from the request body:
/// no `Data` copy, no tree of values, no `Codable` metadata lookups. It is strict where
/// a sender can only be wrong: invalid UTF-8, unescaped control characters, lone
/// surrogates, trailing commas, numbers outside RFC 8259, nesting deeper than
/// ``maxDepth`` and anything after the top-level value are all malformed. Every such
/// problem is an ``APIError`` whose message starts with "malformed JSON" and says where.
///
/// It borrows the bytes, so it lives only inside `withUnsafeReadableBytes`.
struct JSONReader {
    /// Deep enough for any alert (an array of objects of string maps is three levels);
    /// shallow enough that skipping a hostile body recursively cannot exhaust the stack.
    static let maxDepth = 64

    enum Kind {
        case object, array, string, number, boolean, null

        /// As a message names it: `expected an object, found a string`.
        var named: String {
            switch self {
            case .object: "an object"
            case .array: "an array"
            case .string: "a string"
            case .number: "a number"
            case .boolean: "a boolean"
            case .null: "null"
            }
        }
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var offset: Int
    private var depth = 0
    /// Holds a string's unescaped bytes when it has escapes; reused, so only the first
    /// escaped string of a body allocates.
    private var scratch: [UInt8] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        // A UTF-8 byte order mark is skipped, as JSONDecoder skips it.
        offset = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
    }

    // MARK: Structure

    /// The first byte of the next token, after whitespace; nil at the end of the body.
    mutating func peek() -> UInt8? {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x0A, 0x0D, 0x09: offset += 1
            case let b: return b
            }
        }
        return nil
    }

    /// The kind of the value that starts here; a byte that starts none is malformed.
    mutating func nextKind() throws(APIError) -> Kind {
        guard let first = peek() else { throw unexpected(expecting: "a value") }
        return switch first {
        case UInt8(ascii: "{"): .object
        case UInt8(ascii: "["): .array
        case UInt8(ascii: "\""): .string
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): .number
        case UInt8(ascii: "t"), UInt8(ascii: "f"): .boolean
        case UInt8(ascii: "n"): .null
        default: throw unexpected(expecting: "a value")
        }
    }

    /// Consumes `{` (the next token); answers whether a member follows.
    mutating func enterObject() throws(APIError) -> Bool {
        try enter()
        guard peek() == UInt8(ascii: "}") else { return true }
        offset += 1
        depth -= 1
        return false
    }

    /// After a member's value: consumes `,` and answers true, or `}` and answers false.
    mutating func nextMember() throws(APIError) -> Bool {
        try next(closing: UInt8(ascii: "}"), expecting: "',' or '}'")
    }

    /// Consumes `[` (the next token); answers whether an element follows.
    mutating func enterArray() throws(APIError) -> Bool {
        try enter()
        guard peek() == UInt8(ascii: "]") else { return true }
        offset += 1
        depth -= 1
        return false
    }

    /// After an element: consumes `,` and answers true, or `]` and answers false.
    mutating func nextElement() throws(APIError) -> Bool {
        try next(closing: UInt8(ascii: "]"), expecting: "',' or ']'")
    }

    /// Reads a member's name and its colon; answers the name's index in `names`, or nil
    /// for a name the format does not know (its value is then the caller's to skip).
    mutating func readFieldName(in names: FieldNames) throws(APIError) -> Int? {
        guard peek() == UInt8(ascii: "\"") else { throw unexpected(expecting: "a member name") }
        let index = try withString { names.index(of: $0) }
        try colon()
        return index
    }

    /// Reads a member's name as text (a label or annotation name) and its colon.
    mutating func readMemberName() throws(APIError) -> String {
        guard peek() == UInt8(ascii: "\"") else { throw unexpected(expecting: "a member name") }
        let name = try readString()
        try colon()
        return name
    }

    /// Checks that nothing but whitespace follows the top-level value.
    mutating func expectEnd() throws(APIError) {
        if peek() != nil { throw unexpected(expecting: "the end of the body") }
    }

    /// Skips one value of any kind, checking its syntax all the same.
    mutating func skipValue() throws(APIError) {
        switch try nextKind() {
        case .object:
            guard try enterObject() else { return }
            repeat {
                guard peek() == UInt8(ascii: "\"") else { throw unexpected(expecting: "a member name") }
                try withString { _ in () }
                try colon()
                try skipValue()
            } while try nextMember()
        case .array:
            guard try enterArray() else { return }
            repeat { try skipValue() } while try nextElement()
        case .string:
            try withString { _ in () }
        case .number:
            _ = try scanNumber()
        case .boolean:
            try literal(peek() == UInt8(ascii: "t") ? "true" : "false")
        case .null:
            try readNull()
        }
    }

    // MARK: Scalars

    /// Reads `null` (the next token).
    mutating func readNull() throws(APIError) {
        try literal("null")
    }

    /// Reads a string (the next token) as text.
    mutating func readString() throws(APIError) -> String {
        try withString { String(decoding: $0, as: UTF8.self) }
    }

    /// Reads a string (the next token) and hands its unescaped UTF-8 to `body`: a slice of
    /// the body itself when the string has no escapes (the common case: no copy), else the
    /// scratch buffer. The bytes are valid UTF-8, so `String(decoding:)` never repairs them.
    mutating func withString<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) throws(APIError) -> Result {
        let open = offset
        var runStart = offset + 1
        var i = try scanRun(from: runStart)
        if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
            offset = i + 1
            return body(UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
        }
        scratch.removeAll(keepingCapacity: true)
        while i < bytes.count {
            scratch.append(contentsOf: bytes[runStart..<i])
            if bytes[i] == UInt8(ascii: "\"") {
                offset = i + 1
                return scratch.withUnsafeBufferPointer(body)
            }
            runStart = try unescape(at: i)
            i = try scanRun(from: runStart)
        }
        throw malformed("unterminated string", at: open)
    }

    /// Reads a number (the next token) as `Double(String)` would, or answers the
    /// malformed-JSON error JSONDecoder gave for a number a `Double` cannot hold (one
    /// that overflows, or underflows to zero from non-zero digits).
    mutating func readDouble() throws(APIError) -> Result<Double, APIError> {
        let start = offset
        let number = try scanNumber()
        if let exact = number.exactValue { return .success(exact) }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        guard let value = Double(text), value.isFinite, value != 0 || !number.hasNonZeroDigit else {
            let shown = text.utf8.count > 40 ? "\(text.prefix(32))…" : text
            return .failure(malformed("number \(shown) does not fit in a Double", at: start))
        }
        return .success(value)
    }

    // MARK: Errors

    /// A malformed-JSON error at a byte offset of the body, with its line and column.
    private func malformed(_ problem: String, at position: Int) -> APIError {
        var line = 1
        var lineStart = 0
        for i in 0..<min(position, bytes.count) where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return .badRequest("malformed JSON: \(problem) at line \(line), column \(position - lineStart + 1) (byte \(position))")
    }

    /// A malformed-JSON error naming what is at the current offset instead of `what`.
    private func unexpected(expecting what: String) -> APIError {
        guard offset < bytes.count else { return malformed("unexpected end of the body, expected \(what)", at: offset) }
        let b = bytes[offset]
        let found = b > 0x20 && b < 0x7F ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16, uppercase: true))"
        return malformed("unexpected \(found), expected \(what)", at: offset)
    }

    // MARK: Internals

    private mutating func enter() throws(APIError) {
        guard depth < Self.maxDepth else { throw malformed("nesting deeper than \(Self.maxDepth) levels", at: offset) }
        depth += 1
        offset += 1
    }

    private mutating func next(closing: UInt8, expecting what: String) throws(APIError) -> Bool {
        switch peek() {
        case UInt8(ascii: ","):
            offset += 1
            return true
        case closing:
            offset += 1
            depth -= 1
            return false
        default:
            throw unexpected(expecting: what)
        }
    }

    private mutating func colon() throws(APIError) {
        guard peek() == UInt8(ascii: ":") else { throw unexpected(expecting: "':'") }
        offset += 1
    }

    private mutating func literal(_ word: StaticString) throws(APIError) {
        let count = word.utf8CodeUnitCount
        guard offset + count <= bytes.count,
              UnsafeBufferPointer(rebasing: bytes[offset..<offset + count]).elementsEqual(
                  UnsafeBufferPointer(start: word.utf8Start, count: count))
        else { throw malformed("invalid literal, expected \(word)", at: offset) }
        offset += count
    }

    /// Skips string content up to the next quote, backslash or the end of the body,
    /// checking it on the way; answers where it stopped.
    private func scanRun(from start: Int) throws(APIError) -> Int {
        var i = start
        while i < bytes.count {
            let b = bytes[i]
            if b >= 0x20 && b < 0x80 {
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { return i }
                i += 1
            } else {
                i = try stringByte(at: i)
            }
        }
        return i
    }

    /// Checks a string byte at `i` that is not printable ASCII: a control character
    /// (which must be escaped) or the lead byte of a UTF-8 sequence, which is checked
    /// whole; answers the offset after it.
    private func stringByte(at i: Int) throws(APIError) -> Int {
        let b = bytes[i]
        if b < 0x20 { throw malformed("unescaped control character in a string", at: i) }
        // Well-formed UTF-8 (Unicode table 3-7): no overlong forms, no surrogates, nothing past U+10FFFF.
        let count: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch b {
        case 0xC2...0xDF: count = 1
        case 0xE0: count = 2; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: count = 2
        case 0xED: count = 2; high = 0x9F
        case 0xF0: count = 3; low = 0x90
        case 0xF1...0xF3: count = 3
        case 0xF4: count = 3; high = 0x8F
        default: throw malformed("invalid UTF-8", at: i)
        }
        guard i + count < bytes.count, (low...high).contains(bytes[i + 1]) else { throw malformed("invalid UTF-8", at: i) }
        var k = 2
        while k <= count {
            guard (0x80...0xBF).contains(bytes[i + k]) else { throw malformed("invalid UTF-8", at: i) }
            k += 1
        }
        return i + count + 1
    }

    /// Appends the character of the escape at `i` (its backslash) to the scratch buffer;
    /// answers the offset after it.
    private mutating func unescape(at i: Int) throws(APIError) -> Int {
        guard i + 1 < bytes.count else { throw malformed("unterminated string", at: i) }
        let simple: UInt8
        switch bytes[i + 1] {
        case UInt8(ascii: "\""): simple = 0x22
        case UInt8(ascii: "\\"): simple = 0x5C
        case UInt8(ascii: "/"): simple = 0x2F
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"):
            let unit = try hex4(at: i + 2)
            var value = UInt32(unit)
            var end = i + 6
            switch unit {
            case 0xD800...0xDBFF:
                guard end + 1 < bytes.count, bytes[end] == UInt8(ascii: "\\"), bytes[end + 1] == UInt8(ascii: "u")
                else { throw malformed("unpaired UTF-16 surrogate in \\u escape", at: i) }
                let low = try hex4(at: end + 2)
                guard (0xDC00...0xDFFF).contains(low) else { throw malformed("unpaired UTF-16 surrogate in \\u escape", at: i) }
                value = 0x10000 + ((value - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                end += 6
            case 0xDC00...0xDFFF:
                throw malformed("unpaired UTF-16 surrogate in \\u escape", at: i)
            default:
                break
            }
            // U+0000 is valid JSON but PostgreSQL stores no NUL in text or jsonb; it becomes
            // U+FFFD here, so the alert is kept, and kept alike by both stores.
            appendUTF8(value == 0 ? 0xFFFD : value)
            return end
        default:
            throw malformed("invalid escape sequence", at: i)
        }
        scratch.append(simple)
        return i + 2
    }

    /// Appends a scalar value (never a surrogate, at most U+10FFFF) as UTF-8.
    private mutating func appendUTF8(_ v: UInt32) {
        switch v {
        case 0..<0x80:
            scratch.append(UInt8(v))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | v >> 6))
            scratch.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | v >> 12))
            scratch.append(UInt8(0x80 | v >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | v & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | v >> 18))
            scratch.append(UInt8(0x80 | v >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | v >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | v & 0x3F))
        }
    }

    private func hex4(at i: Int) throws(APIError) -> UInt16 {
        guard i + 4 <= bytes.count else { throw malformed("invalid \\u escape", at: i - 2) }
        var value: UInt16 = 0
        for k in i..<i + 4 {
            let b = bytes[k]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw malformed("invalid \\u escape", at: i - 2)
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// What the scan of one number learned on the way.
    private struct ScannedNumber {
        /// The value when it is exact without `strtod` (Clinger's fast path: at most 15
        /// significant digits and a power of ten up to 10^22, both exact in a `Double`, so
        /// one IEEE multiplication or division rounds correctly); nil otherwise.
        var exactValue: Double?
        var hasNonZeroDigit: Bool
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        (0..<exponent).reduce(1.0) { value, _ in value * 10 }
    }

    /// Consumes `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func scanNumber() throws(APIError) -> ScannedNumber {
        var i = offset
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var mantissa: UInt64 = 0
        var significant = 0
        var scale = 0
        func digit(_ i: Int) -> UInt8? {
            guard i < bytes.count else { return nil }
            let d = bytes[i] &- UInt8(ascii: "0")
            return d < 10 ? d : nil
        }
        func add(_ d: UInt8) {
            guard significant > 0 || d != 0 else { return }
            significant += 1
            if significant <= 19 { mantissa = mantissa &* 10 &+ UInt64(d) }
        }
        guard let first = digit(i) else { throw malformed("invalid number, expected a digit", at: i) }
        i += 1
        add(first)
        if first != 0 {
            while let d = digit(i) { add(d); i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digit(i) != nil else { throw malformed("invalid number, expected a digit after '.'", at: i) }
            while let d = digit(i) {
                add(d)
                scale -= 1
                i += 1
            }
        }
        if i < bytes.count, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var exponentNegative = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
                exponentNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            guard digit(i) != nil else { throw malformed("invalid number, expected a digit in the exponent", at: i) }
            var exponent = 0
            while let d = digit(i) {
                exponent = min(exponent * 10 + Int(d), 1_000_000)
                i += 1
            }
            scale += exponentNegative ? -exponent : exponent
        }
        offset = i
        var exact: Double?
        if significant == 0 {
            exact = 0
        } else if significant <= 15, (-22...22).contains(scale) {
            let value = Double(mantissa)
            exact = scale >= 0 ? value * Self.powersOfTen[scale] : value / Self.powersOfTen[-scale]
        }
        return ScannedNumber(exactValue: negative ? exact.map { -$0 } : exact, hasNonZeroDigit: significant > 0)
    }
}

/// The member names one JSON object format knows, matched against a name's bytes
/// without making a `String` of it.
struct FieldNames: Sendable {
    let names: [String]
    private let utf8: [[UInt8]]

    init(_ names: [String]) {
        self.names = names
        utf8 = names.map { Array($0.utf8) }
    }

    func index(of name: UnsafeBufferPointer<UInt8>) -> Int? {
        for (index, candidate) in utf8.enumerated() where candidate.count == name.count {
            if candidate.withUnsafeBufferPointer({ $0.elementsEqual(name) }) { return index }
        }
        return nil
    }

    subscript(index: Int) -> String { names[index] }
}
