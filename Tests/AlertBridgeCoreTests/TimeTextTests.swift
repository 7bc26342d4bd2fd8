import AlertBridgeCore
import Testing

@Suite struct TimeTextTests {
    @Test func rfc3339RoundTrips() throws {
        let t = try #require(RFC3339.parse("2026-11-23T18:05:00Z"))
        #expect(t.milliseconds == 1_795_457_100_000)
        #expect(RFC3339.format(t) == "2026-11-23T18:05:00Z")
        #expect(RFC3339.format(Timestamp(milliseconds: 1_795_457_100_123)) == "2026-11-23T18:05:00.123Z")
    }

    @Test func rfc3339HonoursOffsetsAndFractions() {
        #expect(RFC3339.parse("2026-11-24T03:05:00+09:00") == RFC3339.parse("2026-11-23T18:05:00Z"))
        #expect(RFC3339.parse("2026-11-23T17:45:59.123456789Z")?.milliseconds == 1_795_455_959_123)
        #expect(RFC3339.parse("1969-12-31T23:59:59Z")?.milliseconds == -1000)
        // ISO 8601's offset without a colon, as in PagerDuty's examples.
        #expect(RFC3339.parse("2015-07-17T08:42:58.315+0000") == RFC3339.parse("2015-07-17T08:42:58.315Z"))
        #expect(RFC3339.parse("2026-11-24T03:05:00+0900") == RFC3339.parse("2026-11-23T18:05:00Z"))
        #expect(RFC3339.parse("2028-02-29T00:00:00Z") != nil)
    }

    @Test(arguments: ["", "2026-11-23", "2026-13-01T00:00:00Z", "2026-11-23T25:00:00Z", "2026-11-23T18:05:00", "2026-11-23T18:05:00Zjunk", "2026-11-23T18:05:00.",
                     "2026-02-31T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-23T18:05:00+99:99",
                     "2026-11-23T18:05:00+09:60", "2026-11-23T18:05:00+09", "2026-11-23T18:05:00+09:000"])
    func rfc3339RejectsGarbage(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    /// A refused time that looks right says which part of the calendar it missed.
    @Test func anImpossibleDateSaysWhy() {
        #expect(RFC3339.impossibleDate("2026-02-29T00:00:00Z") == " (February 2026 has 28 days)")
        #expect(RFC3339.impossibleDate("2028-02-30T00:00:00Z") == " (February 2028 has 29 days)")
        #expect(RFC3339.impossibleDate("2026-04-31") == " (April 2026 has 30 days)")
        #expect(RFC3339.impossibleDate("2026-11-00T00:00:00Z") == " (November 2026 has 30 days)")
        #expect(RFC3339.impossibleDate("2026-13-01T00:00:00Z") == " (there is no month 13)")
        #expect(RFC3339.impossibleDate("2026-11-23T24:30:00Z") == " (there is no hour 24)")
        #expect(RFC3339.impossibleDate("2026-11-23T10:61:00Z") == " (there is no minute 61)")
        #expect(RFC3339.impossibleDate("2026-11-23T10:00:61Z") == " (there is no second 61)")
        // A real date and time refused for another reason, or no date at all: nothing to add.
        #expect(RFC3339.impossibleDate("2026-11-23T10:00:00+9") == "")
        #expect(RFC3339.impossibleDate("2026-11-23") == "")
        #expect(RFC3339.impossibleDate("yesterday") == "")
        #expect(RFC3339.impossibleDate("2026-1-23T00:00:00Z") == "")
    }

    @Test func durationsParseAndFormat() {
        #expect(DurationText.parse("30s") == .seconds(30))
        #expect(DurationText.parse("1h30m") == .seconds(5400))
        #expect(DurationText.parse("7d") == .seconds(7 * 86400))
        #expect(DurationText.parse("250ms") == .milliseconds(250))
        #expect(DurationText.format(.seconds(5400)) == "1h30m")
        #expect(DurationText.format(.seconds(600)) == "10m")
        // Past Int64 milliseconds: refused, not a crash.
        #expect(DurationText.parse(String(repeating: "999999999d", count: 120)) == nil)
        for bad in ["", "10", "m", "-5m", "5x", "1h-3m", "1.5h"] {
            #expect(DurationText.parse(bad) == nil, "\(bad) should not parse")
        }
    }
}
