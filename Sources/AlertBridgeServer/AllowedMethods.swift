import Hummingbird
import Synchronization

/// The methods each route answers, so that a request for a path the API has, with a
/// method it does not take there, is told so: `405` and an `Allow` header (RFC 9110
/// §15.5.6), not a `404` that says the path does not exist. `curl` of the ingest URL
/// (a GET) is the usual first check of a new integration.
///
/// Filled from the router's own table once every route is registered, so it can never
/// disagree with what the router serves.
final class AllowedMethods: Sendable {
    private struct Route {
        /// The path's segments; `nil` matches any one segment (a `{id}` capture).
        var segments: [String?]
        var methods: [HTTPRequest.Method]
    }

    private let routes = Mutex<[Route]>([])

    /// - Parameter table: the router's routes, before it adds HEAD to every GET
    ///   (`autoGenerateHeadEndpoints`), which this adds too.
    func record(_ table: [Router<AppRequestContext>.RouteDescription]) {
        var byPath: [String: Route] = [:]
        for route in table {
            let segments = route.path.components.map { $0.description.hasPrefix("{") || $0.description == "*" ? nil : $0.description }
            let methods: [HTTPRequest.Method] = route.method == .get ? [.get, .head] : [route.method]
            byPath["\(route.path)", default: Route(segments: segments, methods: [])].methods += methods
        }
        routes.withLock { $0 = Array(byPath.values) }
    }

    /// The methods `path` is served with, sorted; empty when no route has that path.
    func methods(for path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/").map(String.init)
        return routes.withLock { routes in
            routes.first { route in
                route.segments.count == segments.count && zip(route.segments, segments).allSatisfy { $0 == nil || $0 == $1 }
            }?.methods.sorted { $0.rawValue < $1.rawValue } ?? []
        }
    }
}
