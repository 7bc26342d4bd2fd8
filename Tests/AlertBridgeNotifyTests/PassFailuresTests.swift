import AlertBridgeStore
import Logging
import Testing

/// A service loop's failing passes in the log: on a full disk each pass logged a line,
/// up to 149 a second onto the disk that was full (black-box round 25).
struct PassFailuresTests {
    struct DiskFull: Error, CustomStringConvertible {
        var description: String { "SQLite cannot write: database or disk is full" }
    }

    @Test func aFailureIsLoggedAsItStartsOnceAMinuteWhileItLastsAndWhenItEnds() {
        let log = LogLines()
        let logger = Logger(label: "test") { _ in log }
        var failures = PassFailures("delivery pass")
        let t0 = ContinuousClock.now
        failures.succeeded(logger: logger, now: t0)
        #expect(log.lines.isEmpty, "nothing had failed")
        for second in 0..<150 { failures.failed(DiskFull(), logger: logger, now: t0 + .seconds(second)) }
        #expect(log.lines == [
            "error delivery pass failed; retrying error=SQLite cannot write: database or disk is full",
            "error delivery pass still failing; retrying error=SQLite cannot write: database or disk is full failures=61 for=1m",
            "error delivery pass still failing; retrying error=SQLite cannot write: database or disk is full failures=121 for=2m",
        ])
        failures.succeeded(logger: logger, now: t0 + .seconds(150))
        #expect(log.lines.last == "notice delivery pass works again failures=150 for=2m30s")
        // The next failure is news again.
        failures.failed(DiskFull(), logger: logger, now: t0 + .seconds(200))
        #expect(log.lines.count == 5 && log.lines.last?.hasPrefix("error delivery pass failed; retrying") == true)
    }
}
