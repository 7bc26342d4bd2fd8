import Foundation
import TestProcesses
import Testing

/// `alertbridge serve` gives back its binary's pages once it listens (`StartupCode`), so a
/// running server keeps few of them: the code that serves reads its pages back, start-up's
/// stays on disk. Kept, they were about 25 of its 50 MiB in an alert storm (release build;
/// bench/README.md, "Kept: start-up's code given back").
@Suite struct StartupCodeTests {
    /// The server runs from a copy of the binary of its own: the kernel leaves alone the
    /// pages that another process maps, and this suite runs many servers and commands of the
    /// one binary at once. Paging out the test process's own binary instead stalled every
    /// test beside it while they read their code back (12.9 s, in CI).
    @Test func aListeningServerHasGivenBackTheBinarysPages() async throws {
        let dir = try TemporaryDirectory("alertbridge-startup-code")
        defer { dir.remove() }
        try ServeCommandTests.writeServerFile(in: dir)
        let binary = dir.path("alertbridge")
        try FileManager.default.copyItem(atPath: try Paths.alertbridgeBinary(), toPath: binary)
        let port = try freeLocalPort()
        let process = try ChildProcess.start(binary, [
            "serve", "--config", dir.path("alertbridge.yaml"), "--listen", "127.0.0.1:\(port)",
            "--store", "sqlite:\(dir.path("alertbridge.db"))",
        ], output: dir.path("log"), errors: dir.path("log"))
        ParentWatch.kill(process.pid)
        defer { process.signal(SIGKILL) }
        _ = try await eventually("the server to answer /healthz") { _ in
            (try? await HTTP.send("GET", "http://127.0.0.1:\(port)/healthz"))?.status == 200 ? true : nil
        }
        // An alert through ingest, an incident and its page: the code that runs from now on.
        let alert = #"{"source":"test","status":"firing","severity":"critical","summary":"p95 1.4s","labels":{"alertname":"EdgeLatencyHigh","pop":"ICN1","service":"cdn-edge"}}"#
        let posted = try await HTTP.send("POST", "http://127.0.0.1:\(port)/api/v1/alerts", body: Data(alert.utf8))
        #expect(posted.status == 202, "\(posted)")
        let (resident, mapped) = try Self.binaryPages(of: process.pid)
        #expect(mapped > 0)
        // Debug build: about 6 MiB of 37 MiB resident here, 18 MiB with start-up's pages kept.
        #expect(resident * 5 < mapped * 2, "\(resident / 1024) KiB of the binary's \(mapped / 1024) KiB of code and constants resident")
        process.terminate()
        #expect(await process.wait() == .exit(0))
    }

    /// Bytes resident and mapped of a process's own binary, over its mappings that are not writable.
    static func binaryPages(of pid: pid_t) throws -> (resident: Int, mapped: Int) {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
        var (resident, mapped, inBinary) = (0, 0, false)
        for line in try String(contentsOfFile: "/proc/\(pid)/smaps", encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), fields.count >= 5 {
                inBinary = fields.count == 6 && fields[5].trimmingCharacters(in: .whitespaces) == executable
                    && !fields[1].contains("w")
                let bounds = range.split(separator: "-").compactMap { Int($0, radix: 16) }
                if inBinary, bounds.count == 2 { mapped += bounds[1] - bounds[0] }
            } else if inBinary, fields.first == "Rss:", fields.count >= 2, let kib = Int(fields[1]) {
                resident += kib * 1024
            }
        }
        return (resident, mapped)
    }
}
