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

    /// Who acts, as the timeline and the silence list show it: 1 to 128 bytes, not blank.
    static func checkBy(_ by: String?) throws -> String {
        guard let by, !by.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, by.utf8.count <= 128 else {
            throw APIError.badRequest("must name who acts (1 to 128 bytes)", field: "by")
        }
        return by
    }
}
