import AlertBridgeCore
import Foundation
import Hummingbird

/// What every operator endpoint reads alike: a small JSON body and who acts.
enum OperatorInput {
    /// Operator bodies are a few fields; anything larger is a mistake, not a request.
    static let maxBodyBytes = 64 * 1024

    /// - Parameter example: a body that would do, shown when there is none at all: an empty
    ///   body is a request sent without one (`curl -X POST` and no `-d`), not broken JSON.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, example: String) async throws -> T {
        let buffer = try await request.body(upTo: maxBodyBytes) {
            APIError(.contentTooLarge, "request body is larger than the limit of \(maxBodyBytes) bytes for an operator action")
        }
        guard buffer.readableBytesView.contains(where: { !jsonWhitespace.contains($0) }) else {
            throw APIError.badRequest("the body must be a JSON object such as \(example)")
        }
        return try JSONBody.decode(T.self, from: buffer)
    }

    private static let jsonWhitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]

    /// A listing's query names only what `path` takes: `?severity=critical&pop=TPE1` listed
    /// every open incident, as if it had filtered them (black-box round 29).
    static func refuseUnknown(_ params: some Sequence<(key: Substring, value: Substring)>, of path: String, takes names: [String]) throws {
        guard let unknown = params.first(where: { !names.contains(String($0.key)) }) else { return }
        throw APIError.badRequest("\(path) has no query parameter \"\(unknown.key)\"; it takes "
                                  + names.dropLast().joined(separator: ", ") + " and " + names.last!)
    }

    /// `?severity=critical` of a listing, repeated or comma-separated (`critical,error`):
    /// any of them. Empty: any severity.
    static func severities(_ texts: [String]) throws -> [Severity] {
        try texts.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { text in
            guard let severity = Severity(label: String(text)) else {
                throw APIError.badRequest("unknown severity \"\(text)\" (expected critical, error, warning or info)", field: "severity")
            }
            return severity
        }
    }

    /// `?label=pop=ICN1` of a listing, repeated: incidents whose labels have every one of
    /// these values, exactly.
    static func labels(_ texts: [String]) throws -> Labels {
        var labels: Labels = [:]
        for text in texts {
            guard let (name, value) = Matcher.labelValue(parsing: text) else {
                throw APIError.badRequest("\"\(text)\" is not a label and its value, such as pop=ICN1", field: "label")
            }
            if let other = labels[name], other != value {
                throw APIError.badRequest("label \(name) is asked for twice, as \"\(other)\" and \"\(value)\": no incident has both", field: "label")
            }
            labels[name] = value
        }
        return labels
    }

    /// `?status=` of a listing: one of the filter's values, or `nil` when not given.
    static func status<Filter: RawRepresentable & CaseIterable>(_ text: String?, as _: Filter.Type) throws -> Filter?
    where Filter.RawValue == String {
        guard let text else { return nil }
        guard let status = Filter(rawValue: text) else {
            let names = Filter.allCases.map(\.rawValue)
            throw APIError.badRequest(
                "unknown status \"\(text)\" (expected \(names.dropLast().joined(separator: ", ")) or \(names.last ?? ""))",
                field: "status")
        }
        return status
    }

    /// The `:id` of `/api/v1/incidents/:id` or `/api/v1/silences/:id`: a positive whole number.
    /// - Parameter what: `incident` or `silence`, as the refusal names it.
    static func id(_ context: AppRequestContext, of what: String) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            // Digits, not zero: past Int64 (`0` said "too large", black-box round 28).
            let digits = context.parameters.get("id").map {
                !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) && $0.contains { $0 != "0" }
            } ?? false
            throw APIError.badRequest(digits ? "\(what) id is too large: ids go up to \(Int64.max)"
                                             : "\(what) id must be a positive whole number", field: "id")
        }
        return id
    }

    /// `?limit=` of a listing: 1 to 1000, or `nil` when not given.
    static func limit(_ text: String?) throws -> Int? {
        guard let text else { return nil }
        guard let limit = Int(text), (1...1000).contains(limit) else {
            throw APIError.badRequest("must be a whole number from 1 to 1000", field: "limit")
        }
        return limit
    }

    /// Who acts (``ActorName``).
    static func checkBy(_ by: String?) throws -> String {
        if let problem = ActorName.problem(by) { throw APIError.badRequest(problem, field: "by") }
        return by ?? ""
    }
}
