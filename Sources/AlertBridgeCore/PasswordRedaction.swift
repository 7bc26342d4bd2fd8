/// A URL as logs and messages show it: with `***` for its password, also when it does not
/// parse (a port that is no number, an `@` or `/` in the password not percent-encoded).
/// The user info is all between `://` and the last `@` before the query, and the password
/// all after its first `:`.
public func passwordRedacted(_ url: String) -> String {
    guard let scheme = url.range(of: "://") else { return url }
    let rest = url[scheme.upperBound...]
    let end = rest.firstIndex(of: "?") ?? rest.endIndex
    guard let at = rest[..<end].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return url }
    return String(url[..<rest.index(after: colon)]) + "***" + String(rest[at...])
}
