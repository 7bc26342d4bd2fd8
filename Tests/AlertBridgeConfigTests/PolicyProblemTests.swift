@testable import AlertBridgeConfig
import Testing

/// Each mistake in a policy file is reported at the exact place to fix.
@Suite struct PolicyProblemTests {
    func problems(_ policy: String, server: String? = nil) throws -> [String] {
        try Fixture(["escalation-policies/test.yaml": policy, "alertbridge.yaml": server]).problems()
    }

    /// A valid policy head, so each test adds only the part under test.
    static let head = """
        name: test
        tiers:
          - name: first
            notify: [{connector: console}]
            escalate_after: 5m

        """

    @Test func missingConnectorIsReportedAtTheConnectorName() throws {
        let problems = try problems("""
            name: test
            tiers:
              - name: first
                notify:
                  - {connector: console}
                  - {connector: noc-email, to: [noc@example.com]}
                escalate_after: 5m
            """)
        expectSingleProblem(problems, at: "escalation-policies/test.yaml:6:21",
                            containing: "unknown connector \"noc-email\" (defined: console; connectors are defined in alertbridge.yaml)")
    }

    @Test func connectorsOfTheServerFileAreKnown() throws {
        let server = """
            connectors:
              mail: {type: smtp, url: "smtp://mail:25", from: "ab@example.com"}
              chat: {type: teams, webhook_url: "https://example.webhook.office.com/x"}
            """
        let ok = try Fixture(["escalation-policies/test.yaml": """
            name: test
            tiers:
              - {name: first, notify: [{connector: chat}, {connector: mail, to: [noc@example.com]}], escalate_after: 5m}
            """, "alertbridge.yaml": server]).problems()
        #expect(ok.isEmpty, "\(ok)")

        let problems = try problems("""
            name: test
            tiers:
              - {name: first, notify: [{connector: mail}], escalate_after: 5m}
            """, server: server)
        expectSingleProblem(problems, at: "escalation-policies/test.yaml:3:28",
                            containing: "connector \"mail\" sends email and needs recipients in \"to\"")
    }

    /// Delivery would refuse every page to it; a chat target's `to` names people, not addresses.
    @Test func emailRecipientThatIsNotAnAddress() throws {
        let problems = try problems("""
            name: test
            tiers:
              - name: first
                notify:
                  - {connector: mail, to: [noc@example.com, noc-apac-at-cdn.example.com]}
                  - {connector: chat, to: [noc-apac]}
                escalate_after: 5m
            """, server: """
            connectors:
              mail: {type: smtp, url: "smtp://mail:25", from: "ab@example.com"}
              chat: {type: slack, webhook_url: "https://hooks.slack.com/x"}
            """)
        expectSingleProblem(problems, at: "escalation-policies/test.yaml:5:49",
                            containing: "\"noc-apac-at-cdn.example.com\" is not an email address")
    }

    @Test func aRepeatNoOnCallMeansIsRefused() throws {
        expectSingleProblem(try problems("name: test\ntiers:\n  - {name: first, notify: [{connector: console}], escalate_after: 5m}\nrepeat: 9223372036854775807\n"),
                            at: "escalation-policies/test.yaml:4:9", containing: "repeat must be 100 at most, found 9223372036854775807")
        #expect(try problems("name: test\ntiers:\n  - {name: first, notify: [{connector: console}], escalate_after: 5m}\nrepeat: 100\n").isEmpty)
    }

    @Test func zeroTiers() throws {
        expectSingleProblem(try problems("name: test\ntiers: []\n"),
                            at: "escalation-policies/test.yaml:2:8", containing: "a policy needs at least one tier")
    }

    @Test func tierTimersAndNotifyAreChecked() throws {
        let problems = try problems("""
            name: test
            tiers:
              - name: first
                notify: []
                escalate_after: 0s
              - name: first
                notify: [{connector: console}]
            repeat: -1
            ack_timeout: 30 min
            """)
        #expect(problems.count == 6, "\(problems)")
        expectProblem(problems, at: "escalation-policies/test.yaml:4:13", containing: "at least one notify target")
        expectProblem(problems, at: "escalation-policies/test.yaml:5:21", containing: "duration \"0s\" must be greater than zero")
        expectProblem(problems, at: "escalation-policies/test.yaml:6:5", containing: "missing required key \"escalate_after\"")
        expectProblem(problems, at: "escalation-policies/test.yaml:6:11", containing: "duplicate tier name \"first\" (first defined at escalation-policies/test.yaml:3:11)")
        expectProblem(problems, at: "escalation-policies/test.yaml:8:9", containing: "repeat must be 0 or more")
        expectProblem(problems, at: "escalation-policies/test.yaml:9:14", containing: "invalid duration \"30 min\"")
    }

    /// "Never" is written by leaving a timer out; a timer past a year (or past what a
    /// number can hold) is refused where it is written, not accepted to hang or crash later.
    @Test func timersLongerThanAYearAreRefused() throws {
        let problems = try problems(Self.head + """
            ack_timeout: 36500d
            auto_resolve_after: \(String(repeating: "999999999d", count: 120))
            """)
        #expect(problems.count == 2, "\(problems)")
        expectProblem(problems, at: "escalation-policies/test.yaml:6:14", containing: "is longer than 365d, the longest timer alertbridge accepts")
        expectProblem(problems, at: "escalation-policies/test.yaml:7:21", containing: "invalid duration")
    }

    /// A bare number is seconds in one tool and minutes in another: refused, with both offered.
    @Test func aNumberWithoutAUnitIsRefusedWithTheUnitsOffered() throws {
        let problems = try problems(Self.head + """
            ack_timeout: 15
            """)
        #expect(problems.count == 1, "\(problems)")
        expectProblem(problems, at: "escalation-policies/test.yaml:6:14",
                      containing: "invalid duration \"15\": a number needs a unit (15s, 15m or 15h)")
    }

    /// `10ms` is a typo for `10m`: a tier that escalates after it pages every tier at once.
    @Test func timersUnderASecondAreRefused() throws {
        let problems = try problems(Self.head + """
            ack_timeout: 10ms
            auto_resolve_after: 999ms
            """)
        #expect(problems.count == 2, "\(problems)")
        expectProblem(problems, at: "escalation-policies/test.yaml:6:14",
                      containing: "duration \"10ms\" is under a second, the shortest timer alertbridge accepts (did you mean \"10m\"?)")
        expectProblem(problems, at: "escalation-policies/test.yaml:7:21", containing: "duration \"999ms\" is under a second")
        #expect(!problems.joined().contains("did you mean \"999m\""), "999ms is no typo for 16h39m")
    }

    @Test func malformedWindow() throws {
        let problems = try problems(Self.head + """
            windows:
              - {name: peak, when: "25:00-23:00 Asia/Seoul", escalate_after: 10m}
              - {name: night, when: "22:00 Asia/Seoul", escalate_after: 10m}
              - {name: late, when: "22:00-23:60 Asia/Seoul", escalate_after: 10m}
              - {name: all, when: "24:00-06:00 Asia/Seoul", escalate_after: 10m}
              - {name: peak, when: "18:00-19:00 Asia/Seoul", escalate_after: 10m}
            """)
        #expect(problems.count == 5, "\(problems)")
        // A time of the right shape says what is impossible about it.
        expectProblem(problems, at: "escalation-policies/test.yaml:7:24",
                      containing: "invalid window \"peak\" time \"25:00-23:00 Asia/Seoul\" (there is no hour 25; expected \"HH:MM-HH:MM Area/City\"")
        expectProblem(problems, at: "escalation-policies/test.yaml:8:25", containing: "invalid window \"night\" time \"22:00 Asia/Seoul\" (expected")
        expectProblem(problems, at: "escalation-policies/test.yaml:9:24", containing: "(there is no minute 60; expected")
        expectProblem(problems, at: "escalation-policies/test.yaml:10:23", containing: "(24:00 only ends a window; start at 00:00; expected")
        expectProblem(problems, at: "escalation-policies/test.yaml:11:12", containing: "duplicate window name \"peak\" (first at line 7)")
    }

    @Test func unknownTimeZone() throws {
        let problems = try problems(Self.head + """
            windows:
              - {name: peak, when: "18:00-23:00 Asia/Seol", escalate_after: 10m}
            """)
        expectSingleProblem(problems, at: "escalation-policies/test.yaml:7:24",
                            containing: "unknown time zone \"Asia/Seol\" in window \"peak\"")
        // Zone names are case-sensitive; one that differs only in case is named.
        let cased = try self.problems(Self.head + """
            windows:
              - {name: peak, when: "18:00-23:00 Asia/seoul", escalate_after: 10m}
            """)
        expectSingleProblem(cased, at: "escalation-policies/test.yaml:7:24",
                            containing: "unknown time zone \"Asia/seoul\" in window \"peak\" (did you mean Asia/Seoul? Zone names are case-sensitive)")
    }

    /// The same mailbox twice (in any case) would get the page twice.
    @Test func anAddressListedTwiceIsRefused() throws {
        expectSingleProblem(try problems("""
            name: test
            tiers:
              - {name: first, notify: [{connector: noc-email, to: [t1@example.com, T1@Example.com]}], escalate_after: 5m}
            """, server: "connectors:\n  noc-email: {type: smtp, url: \"smtp://mail.example.com:25\", from: a@example.com}\n"),
            at: "escalation-policies/test.yaml:3:72",
            containing: "\"T1@Example.com\" is listed twice in this target (first at line 3, column 56): each address gets the page once")
    }

    /// A YAML merge key reads as an unknown key: the problem says merge keys are not supported.
    @Test func aMergeKeyIsNamed() throws {
        let problems = try problems("""
            name: test
            tiers:
              - &t1 {name: first, notify: [{connector: console}], escalate_after: 5m}
              - <<: *t1
                name: second
            """)
        #expect(problems.contains { $0.contains("unknown key \"<<\"") && $0.contains("YAML merge keys (<<: *anchor) are not supported, write the keys out") },
                "\(problems)")
    }

    /// Foundation reads `EST` as UTC-5 all year and `UTC+9` as a fixed offset: a New York
    /// peak written `EST` would run an hour late all summer. Only Area/City names (and
    /// UTC) pass, and IANA's own names without a slash (`Japan`, `EST5EDT`, which follows
    /// daylight saving); every window in another zone is still accepted.
    @Test func abbreviationsAreNotZones() throws {
        let problems = try problems(Self.head + """
            windows:
              - {name: ny, when: "18:00-23:00 EST", escalate_after: 10m}
              - {name: kr, when: "18:00-23:00 UTC+9", escalate_after: 10m}
              - {name: fixed, when: "01:00-02:00 Etc/GMT-9", escalate_after: 10m}
              - {name: utc, when: "03:00-04:00 UTC", escalate_after: 10m}
              - {name: jp, when: "05:00-06:00 Japan", escalate_after: 10m}
              - {name: us, when: "07:00-08:00 EST5EDT", escalate_after: 10m}
              - {name: eu, when: "09:00-10:00 CET", escalate_after: 10m}
              - {name: nz, when: "11:00-12:00 NZ", escalate_after: 10m}
              - {name: zero, when: "13:00-14:00 GMT+0", escalate_after: 10m}
              - {name: seoul, when: "15:00-16:00 KST", escalate_after: 10m}
              - {name: sg, when: "16:00-17:00 SST", escalate_after: 10m}
            """)
        #expect(problems.count == 4, "\(problems)")
        // Foundation does not know `KST`: still the abbreviation's reason, not "unknown".
        expectProblem(problems, at: "escalation-policies/test.yaml:16:25", containing: "time zone \"KST\" in window \"seoul\" is an abbreviation")
        // Foundation reads Java's old `SST` as the Solomon Islands (UTC+11), not Singapore.
        expectProblem(problems, at: "escalation-policies/test.yaml:17:22", containing: "time zone \"SST\" in window \"sg\" is an abbreviation")
        expectProblem(problems, at: "escalation-policies/test.yaml:7:22",
                      containing: "time zone \"EST\" in window \"ny\" is an abbreviation or an offset, not a zone (expected an IANA name such as America/New_York")
        expectProblem(problems, at: "escalation-policies/test.yaml:8:22", containing: "time zone \"UTC+9\" in window \"kr\"")
    }

    @Test func emptyWindow() throws {
        let problems = try problems(Self.head + """
            windows:
              - {name: peak, when: "18:00-18:00 Asia/Seoul", escalate_after: 10m}
            """)
        expectSingleProblem(problems, at: "escalation-policies/test.yaml:7:24", containing: "starts when it ends")
    }

    @Test func overlappingWindows() throws {
        let problems = try problems(Self.head + """
            windows:
              - {name: peak, when: "18:00-23:00 Asia/Seoul", escalate_after: 10m}
              - {name: late, when: "22:30-23:30 Asia/Seoul", escalate_after: 10m}
              - {name: tokyo, when: "18:00-23:00 Asia/Tokyo", escalate_after: 10m}
            """)
        expectSingleProblem(problems, at: "escalation-policies/test.yaml:8:24",
                            containing: "window \"late\" (22:30-23:30 Asia/Seoul) overlaps window \"peak\" (18:00-23:00 Asia/Seoul)")
    }

    /// Two names of one zone are one zone (black-box round 36: `UTC` and `Etc/UTC` passed,
    /// and the second window was never used where they overlapped).
    @Test func overlappingWindowsOfOneZoneByTwoNames() throws {
        let problems = try problems(Self.head + """
            windows:
              - {name: peak, when: "18:00-23:00 UTC", escalate_after: 10m}
              - {name: late, when: "20:00-21:00 Etc/UTC", escalate_after: 5m}
            """)
        expectSingleProblem(problems, at: "escalation-policies/test.yaml:8:24", containing: """
            window "late" (20:00-21:00 Etc/UTC) overlaps window "peak" (18:00-23:00 UTC): UTC and Etc/UTC are one zone (Etc/UTC)
            """)
    }

    @Test func windowsCrossingMidnightThatOverlap() throws {
        let problems = try problems(Self.head + """
            windows:
              - {name: night, when: "22:00-02:00 Asia/Seoul", escalate_after: 10m}
              - {name: early, when: "01:00-06:00 Asia/Seoul", escalate_after: 10m}
            """)
        expectSingleProblem(problems, at: "escalation-policies/test.yaml:8:25",
                            containing: "window \"early\" (01:00-06:00 Asia/Seoul) overlaps window \"night\"")
    }

    @Test func adjacentWindowsAcrossMidnightLoad() throws {
        let fixture = try Fixture(["escalation-policies/test.yaml": Self.head + """
            windows:
              - {name: night, when: "22:00-02:00 Asia/Seoul", escalate_after: 10m}
              - {name: early, when: "02:00-06:00 Asia/Seoul", escalate_after: 15m}
              - {name: evening, when: "18:00-22:00 Asia/Seoul", escalate_after: 5m}
            """])
        let policy = try #require(try fixture.load().policies["test"])
        #expect(policy.windows.map(\.name) == ["night", "early", "evening"])
        #expect(policy.windows[0].startMinute == 22 * 60)
        #expect(policy.windows[0].endMinute == 2 * 60)
    }

    @Test func duplicatePolicyName() throws {
        let problems = try problems("""
            name: standard
            tiers: [{name: first, notify: [{connector: console}], escalate_after: 5m}]
            """)
        expectSingleProblem(problems, at: "escalation-policies/test.yaml:1:7",
                            containing: "duplicate policy name \"standard\" (first defined at escalation-policies/standard.yaml:1:7)")
    }
}
