import AlertBridgeConfig
import Foundation
import Testing

/// Mutated rule and policy files never crash the loader: they load, or every problem
/// has a real position.
@Suite struct ConfigFuzzTests {
    struct Rng: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state ^ (state >> 29)
        }
    }

    static let pieces = [": ", "- ", "\n  ", "{", "}", "[", "]", "\"", "'", "&a", "*a", "!!int ", "~", "0", "-5m", "99999999999h",
                         "=~ (", "{{", "}}", "\t", "#", "name: x\n", "tiers: []\n", "24:00-24:00 Mars/Base", "\u{FEFF}"]

    @Test func mutatedShippedFilesNeverCrashTheLoader() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let originals = [
            ("rules/10-cdn.yaml", try String(contentsOf: root.appendingPathComponent("rules/10-cdn.yaml"), encoding: .utf8)),
            ("escalation-policies/cdn-performance.yaml",
             try String(contentsOf: root.appendingPathComponent("escalation-policies/cdn-performance.yaml"), encoding: .utf8)),
        ]
        var rng = Rng(state: 7)
        for round in 0..<150 {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("alertbridge-fuzz-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            for sub in ["rules", "escalation-policies"] {
                try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
            }
            try String(contentsOf: root.appendingPathComponent("escalation-policies/pop-outage.yaml"), encoding: .utf8)
                .write(to: dir.appendingPathComponent("escalation-policies/pop-outage.yaml"), atomically: false, encoding: .utf8)
            let (target, text) = originals[round % 2]
            var chars = Array(text.unicodeScalars)
            for _ in 0..<Int.random(in: 1...5, using: &rng) {
                let i = Int.random(in: 0..<max(1, chars.count), using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: chars.insert(contentsOf: Self.pieces.randomElement(using: &rng)!.unicodeScalars, at: min(i, chars.count))
                case 1: chars.removeSubrange(min(i, chars.count)..<min(chars.count, i + Int.random(in: 1...20, using: &rng)))
                default: if i < chars.count { chars[i] = Unicode.Scalar(UInt8.random(in: 32...126, using: &rng)) }
                }
            }
            let mutated = String(String.UnicodeScalarView(chars))
            try mutated.write(to: dir.appendingPathComponent(target), atomically: false, encoding: .utf8)
            for (other, original) in originals where other != target {
                try original.write(to: dir.appendingPathComponent(other), atomically: false, encoding: .utf8)
            }
            let config = dir.appendingPathComponent("alertbridge.yaml")
            try "rules: rules\npolicies: escalation-policies\n".write(to: config, atomically: false, encoding: .utf8)
            do {
                _ = try ConfigLoader.load(configFile: config.path, environment: [:])
            } catch {
                #expect(!error.problems.isEmpty)
                for problem in error.problems {
                    #expect(problem.line >= 1 && problem.column >= 1, "round \(round): \(problem)")
                    #expect(!problem.message.isEmpty)
                }
            }
        }
    }
}
