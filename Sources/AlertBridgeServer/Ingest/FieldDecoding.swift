import AlertBridgeCore

/// Where an alert sits in the request (`[3]`, `alerts[0]`, or the whole body), so an
/// error can name its field (`[3].labels.pop`, `alerts[0].startsAt`, `labels`). The text
/// is only made when there is an error, never per alert.
struct AlertPath: Sendable {
    /// `"alerts"` for an Alertmanager alert, empty for a native one.
    var container = ""
    /// The alert's index in its array; nil for a native body that is one object.
    var index: Int?

    var prefix: String { index.map { "\(container)[\($0)]" } ?? container }

    func field(_ name: String) -> String {
        let prefix = prefix
        return prefix.isEmpty ? name : "\(prefix).\(name)"
    }

    /// The path of one entry of a string map, as JSONDecoder's coding path printed it:
    /// a name that is an integer in canonical form (`"5"`) became an index (`labels[5]`).
    func entry(_ map: String, _ name: String) -> String {
        let field = field(map)
        return Int(name).map { "\($0)" == name } == true ? "\(field)[\(name)]" : "\(field).\(name)"
    }
}

/// The one decoding problem of an object that JSONDecoder would have reported. It decoded
/// properties in declaration order, so of several problems the one of the property
/// declared first wins, wherever it is in the body; `order` is that position.
struct DecodingProblem: Sendable {
    private var order = Int.max
    private(set) var error: APIError?

    mutating func note(_ order: Int, _ error: @autoclosure () -> APIError) {
        guard order < self.order else { return }
        self.order = order
        self.error = error()
    }

    /// A value of another JSON type than the property's.
    mutating func mismatch(_ order: Int, expected: String, field: @autoclosure () -> String) {
        note(order, .badRequest("expected \(expected)", field: field()))
    }

    /// `null` for a property that is not optional.
    mutating func null(_ order: Int, expected: String, field: @autoclosure () -> String) {
        note(order, .badRequest("expected \(expected), found null", field: field()))
    }
}

/// Readers of one member's value with JSONDecoder's rules for the property type it
/// replaced: `null` is absent for an optional, a wrong type is noted in the problem with
/// JSONDecoder's wording ("expected a string", …) and the value is skipped.
extension JSONReader {
    /// A `String?` property.
    mutating func optionalString(_ problem: inout DecodingProblem, _ order: Int, _ field: @autoclosure () -> String)
        throws(APIError) -> String? {
        switch try nextKind() {
        case .string: return try readString()
        case .null: try readNull()
        default:
            try skipValue()
            problem.mismatch(order, expected: "a string", field: field())
        }
        return nil
    }

    /// A `String` property (nil when it is not one; the problem says why).
    mutating func requiredString(_ problem: inout DecodingProblem, _ order: Int, _ field: @autoclosure () -> String)
        throws(APIError) -> String? {
        if try nextKind() == .null {
            try readNull()
            problem.null(order, expected: "a string", field: field())
            return nil
        }
        return try optionalString(&problem, order, field())
    }

    /// A `String?` property whose value alertbridge does not use: checked, not kept.
    mutating func checkOptionalString(_ problem: inout DecodingProblem, _ order: Int, _ field: @autoclosure () -> String)
        throws(APIError) {
        switch try nextKind() {
        case .string: try withString { _ in () }
        case .null: try readNull()
        default:
            try skipValue()
            problem.mismatch(order, expected: "a string", field: field())
        }
    }

    /// A `Double?` property. A number a `Double` cannot hold is malformed JSON, as it was.
    mutating func optionalDouble(_ problem: inout DecodingProblem, _ order: Int, _ field: @autoclosure () -> String)
        throws(APIError) -> Double? {
        switch try nextKind() {
        case .number:
            switch try readDouble() {
            case .success(let value): return value
            case .failure(var error):
                // Well-formed JSON a Double cannot hold (`1e999`): the field says which.
                error.field = field()
                problem.note(order, error)
            }
        case .null: try readNull()
        default:
            try skipValue()
            problem.mismatch(order, expected: "a number", field: field())
        }
        return nil
    }

    /// A `Timestamp?` property: an RFC 3339 string, parsed straight from the body.
    mutating func optionalTimestamp(_ problem: inout DecodingProblem, _ order: Int, _ field: @autoclosure () -> String)
        throws(APIError) -> Timestamp? {
        switch try nextKind() {
        case .string:
            var text: String?
            let time = try withString { bytes in
                let time = RFC3339.parse(utf8: bytes)
                if time == nil { text = String(decoding: bytes, as: UTF8.self) }
                return time
            }
            if let text { problem.note(order, .badRequest(RFC3339.refusal(text), field: field())) }
            return time
        case .null: try readNull()
        default:
            try skipValue()
            problem.mismatch(order, expected: "a string", field: field())
        }
        return nil
    }

    /// A `[String: String]` property, `required` or optional. As JSONDecoder: of duplicate
    /// names the first wins and later ones are not even type-checked; a value that is not
    /// a string is that entry's problem. Of several such entries this names the first in
    /// the body, where JSONDecoder named one in hash order.
    mutating func stringMap(_ problem: inout DecodingProblem, _ order: Int, required: Bool, at path: AlertPath,
                            _ name: String) throws(APIError) -> Labels? {
        switch try nextKind() {
        case .object: break
        case .null:
            try readNull()
            if required { problem.null(order, expected: "an object", field: path.field(name)) }
            return nil
        default:
            try skipValue()
            problem.mismatch(order, expected: "an object", field: path.field(name))
            return nil
        }
        // Room for a typical label set up front, instead of growing and rehashing 1, 2, 4, 8.
        var map = Labels(minimumCapacity: 8)
        var entryProblem = false
        var more = try enterObject()
        while more {
            let key = try readMemberName()
            if entryProblem {
                try skipValue()
            } else {
                switch try nextKind() {
                case .string:
                    let value = try readString()
                    if let first = map.updateValue(value, forKey: key) { map[key] = first }
                case .null where map[key] == nil:
                    try readNull()
                    problem.null(order, expected: "a string", field: path.entry(name, key))
                    entryProblem = true
                default:
                    try skipValue()
                    if map[key] == nil {
                        problem.mismatch(order, expected: "a string", field: path.entry(name, key))
                        entryProblem = true
                    }
                }
            }
            more = try nextMember()
        }
        return map
    }
}

extension JSONReader {
    /// Reads the members of the object that is the next value, calling `body` with the
    /// index in `names` of each known field, the first time it appears; unknown and
    /// repeated members are skipped, as `JSONDecoder` skipped them.
    /// - Returns: the fields that were present.
    mutating func readFields(_ names: FieldNames,
                             _ body: (inout JSONReader, Int) throws(APIError) -> Void) throws(APIError) -> SeenFields {
        var seen = SeenFields()
        var more = try enterObject()
        while more {
            if let i = try readFieldName(in: names), seen.insert(i) {
                try body(&self, i)
            } else {
                try skipValue()
            }
            more = try nextMember()
        }
        return seen
    }
}

/// Which members of one object were already read: JSONDecoder kept the first of
/// duplicate names and never looked at the others.
struct SeenFields: Sendable {
    private var bits: UInt32 = 0

    /// Answers true the first time for an index.
    mutating func insert(_ index: Int) -> Bool {
        defer { bits |= 1 << UInt32(index) }
        return !contains(index)
    }

    func contains(_ index: Int) -> Bool { bits & 1 << UInt32(index) != 0 }
}
