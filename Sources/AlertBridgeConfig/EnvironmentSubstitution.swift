/// `${VAR}` in server-file values, so secrets live in the environment and never in YAML.
///
/// `$${` stands for a literal `${`; any other `$` is kept as written, because passwords
/// and URLs contain dollar signs that were never meant as references.
enum EnvironmentSubstitution {
    enum Failure: Equatable {
        case unset(String)
        case malformed(String)

        var message: String {
            switch self {
            case .unset(let name): "environment variable \"\(name)\" is not set"
            case .malformed(let text):
                "invalid variable reference \"\(text)\" (expected ${NAME} with letters, digits and _)"
            }
        }
    }

    static func expand(_ text: String, environment: [String: String]) -> (String, [Failure]) {
        guard text.contains("${") else { return (text, []) }
        var out = ""
        var failures: [Failure] = []
        var rest = Substring(text)
        while let dollar = rest.range(of: "${") {
            if dollar.lowerBound > rest.startIndex, rest[rest.index(before: dollar.lowerBound)] == "$" {
                out += rest[..<rest.index(before: dollar.lowerBound)] + "${"
                rest = rest[dollar.upperBound...]
                continue
            }
            out += rest[..<dollar.lowerBound]
            guard let close = rest[dollar.upperBound...].firstIndex(of: "}") else {
                failures.append(.malformed(String(rest[dollar.lowerBound...])))
                return (out, failures)
            }
            let name = String(rest[dollar.upperBound..<close])
            if !isValidName(name) {
                failures.append(.malformed(String(rest[dollar.lowerBound...close])))
            } else if let value = environment[name] {
                out += value
            } else {
                failures.append(.unset(name))
            }
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return (out, failures)
    }

    private static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
        }
    }
}
