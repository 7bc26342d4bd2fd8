import Foundation
import Hummingbird

/// What every operator endpoint reads alike: a small JSON body and who acts.
enum OperatorInput {
    /// Operator bodies are a few fields; anything larger is a mistake, not a request.
    static let maxBodyBytes = 64 * 1024

    static func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        let buffer = try await request.body.collect(upTo: maxBodyBytes)
        do {
            return try JSONDecoder().decode(T.self, from: JSONBody.data(buffer))
        } catch {
            throw DecodingErrors.apiError(error)
        }
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

    /// `?limit=` of a listing: 1 to 1000, or `nil` when not given.
    static func limit(_ text: String?) throws -> Int? {
        guard let text else { return nil }
        guard let limit = Int(text), (1...1000).contains(limit) else {
            throw APIError.badRequest("must be a whole number from 1 to 1000", field: "limit")
        }
        return limit
    }

    /// Who acts, as the timeline and the silence list show it: 1 to 128 bytes, not blank.
    static func checkBy(_ by: String?) throws -> String {
        guard let by, !by.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, by.utf8.count <= 128 else {
            throw APIError.badRequest("must name who acts (1 to 128 bytes)", field: "by")
        }
        return by
    }
}
