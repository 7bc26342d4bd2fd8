import Foundation

/// Maps `DecodingError` to an ``APIError`` that names the offending field as a path
/// such as `payload.severity`, for the bodies still decoded with `JSONDecoder` (PagerDuty
/// events, operator actions). The native and Alertmanager readers word their errors the
/// same way.
enum DecodingErrors {
    static func apiError(_ error: any Error) -> APIError {
        guard let error = error as? DecodingError else {
            if let api = error as? APIError { return api }
            return .badRequest("malformed JSON")
        }
        switch error {
        case .typeMismatch(_, let context) where context.codingPath.isEmpty:
            // Every body decoded here is one object; only the native reader takes an array.
            // Well-formed JSON of another kind, not "malformed".
            return .badRequest("expected an object\(found(context.debugDescription).map { ", found \($0)" } ?? "")")
        case .typeMismatch(let type, let context):
            return .badRequest("expected \(describe(type))", field: path(context.codingPath))
        case .valueNotFound(let type, let context):
            // A `null` body is no field: `null`, as in every other error about the whole body.
            return .badRequest("expected \(describe(type)), found null",
                               field: context.codingPath.isEmpty ? nil : path(context.codingPath))
        case .keyNotFound(let key, let context):
            return .badRequest("is required", field: path(context.codingPath + [key]))
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return .badRequest("malformed JSON: \(underlying(context))")
            }
            return .badRequest(context.debugDescription, field: path(context.codingPath))
        @unknown default:
            return .badRequest("malformed JSON")
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        var out = ""
        for key in keys {
            if let index = key.intValue, key.stringValue.hasPrefix("Index") || key.stringValue == "\(index)" {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out
    }

    /// What JSONDecoder found instead of an object, from its message (`Expected to decode
    /// Dictionary<String, Any> but found number instead.`), worded as the ingest readers
    /// word it; `nil` if its wording is not recognised.
    private static func found(_ message: String) -> String? {
        guard let range = message.range(of: " but found "), message.hasSuffix(" instead.") else { return nil }
        let what = message[range.upperBound...].dropLast(" instead.".count)
        return ["number": "a number", "bool": "a boolean", "a string": "a string", "an array": "an array"][String(what)]
    }

    private static func underlying(_ context: DecodingError.Context) -> String {
        if let inner = context.underlyingError as NSError?,
           let detail = inner.userInfo[NSDebugDescriptionErrorKey] as? String {
            return detail
        }
        return context.debugDescription
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Double.Type, is Int.Type, is Int64.Type: "a number"
        case is Bool.Type: "a boolean"
        case is [String: String].Type: "an object of string values"
        default:
            "\(type)".hasPrefix("Array") ? "an array" : "an object"
        }
    }
}
