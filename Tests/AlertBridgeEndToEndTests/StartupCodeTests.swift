@testable import alertbridge
import Foundation
import Testing

/// `alertbridge serve` gives back its binary's pages once it listens (`StartupCode`); here
/// the same call on this test process's own binary. What it does to a server's memory is
/// measured by `bench/run` (peak RSS per scenario; bench/README.md, "Kept: start-up's code
/// given back"): a server beside other processes of the same binary (these tests start
/// many) keeps the pages they share, so a server's own numbers here would say little.
@Suite struct StartupCodeTests {
    @Test func theBinarysPagesLeaveMemoryWhenGivenBack() throws {
        let mappings = StartupCode.executableMappings()
        #expect(!mappings.isEmpty)
        let before = try Self.resident()
        let released = StartupCode.release()
        let after = try Self.resident()
        #expect(released == mappings.reduce(0) { $0 + $1.count })
        #expect(after * 2 < before, "\(before / 1024) KiB resident before, \(after / 1024) KiB after")
    }

    /// Bytes of this process's binary resident, over its mappings that are not writable.
    static func resident() throws -> Int {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var (resident, inBinary) = (0, false)
        for line in try String(contentsOfFile: "/proc/self/smaps", encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), fields.count >= 5 {
                inBinary = fields.count == 6 && fields[5].trimmingCharacters(in: .whitespaces) == executable && !fields[1].contains("w")
            } else if inBinary, fields.first == "Rss:", fields.count >= 2, let kib = Int(fields[1]) {
                resident += kib * 1024
            }
        }
        return resident
    }
}
