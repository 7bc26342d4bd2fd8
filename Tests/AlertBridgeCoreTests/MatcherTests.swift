import AlertBridgeCore
import Foundation
import Testing

@Suite struct MatcherTests {
    let labels: Labels = ["alertname": "EdgeLatencyHigh", "pop": "ICN1", "service": "cdn-edge"]

    @Test(arguments: [
        ("alertname = EdgeLatencyHigh", true),
        ("alertname=\"EdgeLatencyHigh\"", true),
        ("alertname = PopDown", false),
        ("pop != NRT2", true),
        ("pop != ICN1", false),
        ("alertname =~ Edge.*", true),
        ("alertname =~ \"Edge.*|Origin.*\"", true),
        ("pop !~ \"ICN.*\"", false),
        ("pop !~ NRT.*", true),
    ])
    func eachOperator(text: String, expected: Bool) throws {
        #expect(try Matcher(parsing: text).matches(labels) == expected)
    }

    /// A repetition of a repetition backtracks exponentially in ICU: refused, where the
    /// patterns rules and silences are made of are taken (black-box round 24: a silence
    /// `service =~ "(a+)+b"` held every sender's alerts 0.8 s each).
    @Test func aRepeatedRepetitionIsRefused() {
        for pattern in ["(a+)+b", "(x*y*)*", "([a-z]+)+", #"(\d+)+"#, "(a{2,})+", "((a+))*", "(?:a|b+)*c", "(.*)+"] {
            #expect(throws: MatcherError.self, "\(pattern)") { try Matcher(name: "a", op: .regexMatch, value: pattern) }
        }
        for pattern in ["Edge.*|Origin.*|CacheHitRatioLow", "(a|b)+", "(a+){2}", "(?:ab)+", "a+b+", "[(]+", #"\(a+\)+"#,
                        "ICN[0-9]+", "(edge|origin)-[0-9]+", "(a+)?"] {
            #expect(throws: Never.self, "\(pattern)") { try Matcher(name: "a", op: .regexMatch, value: pattern) }
        }
        #expect(throws: MatcherError.self) { try Matcher(parsing: #"service =~ "(a+)+b""#) }
    }

    @Test func regexesAreAnchoredAtBothEnds() throws {
        // Alertmanager wraps the pattern as ^(?:...)$: a substring is not a match.
        #expect(try Matcher(parsing: "alertname =~ Latency").matches(labels) == false)
        #expect(try Matcher(parsing: "alertname =~ Edge").matches(labels) == false)
        #expect(try Matcher(parsing: "alertname =~ .*Latency.*").matches(labels))
        // Alternation is anchored as a group, not per branch.
        #expect(try Matcher(parsing: "pop =~ ICN|NRT").matches(["pop": "ICN1"]) == false)
    }

    /// Literal and `prefix.*` alternatives skip the regex engine; they must agree with it.
    /// They compare code points, as the engine does: "e" + U+0301 is not "é" here.
    @Test(arguments: ["Edge.*|Origin.*|CacheHitRatioLow", "ICN1", "", "a|", ".*", "Edge.*", "ICN.|NRT.*", "x+|Edge.*",
                      "\u{E9}", "e.*", "e\u{301}"])
    func fastPathAgreesWithTheRegexEngine(pattern: String) throws {
        let matcher = try Matcher(parsing: "v =~ \"\(pattern)\"")
        let reference = try NSRegularExpression(pattern: "^(?:\(pattern))\\z")
        for value in ["", "a", "Edge", "EdgeLatencyHigh", "Edge\nsecond line", "OriginDown", "CacheHitRatioLow",
                      "CacheHitRatioLowX", "xCacheHitRatioLow", "ICN1", "ICN12", "NRT", "xx", "서울",
                      "Edge\n", "Edge\r", "Edge\u{0B}", "Edge\u{0C}", "Edge\u{85}", "Edge\u{2028}x", "Edge\u{2029}",
                      "Edge\tx", "Edge\u{E9}", "\u{E9}", "e\u{301}", "e"] {
            let expected = reference.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
            #expect(matcher.matches(["v": value]) == expected, "\(pattern) against \(value.debugDescription)")
        }
    }

    @Test func missingLabelMatchesAsEmpty() throws {
        #expect(try Matcher(parsing: "severity != critical").matches(labels))
        #expect(try Matcher(parsing: "severity = \"\"").matches(labels))
        #expect(try Matcher(parsing: "severity =~ \".*\"").matches(labels))
        #expect(try Matcher(parsing: "severity =~ \".+\"").matches(labels) == false)
    }

    @Test func quotedValuesKeepSpacesAndEscapes() throws {
        let m = try Matcher(parsing: #"summary = "a \"quoted\" value ""#)
        #expect(m.value == #"a "quoted" value "#)
        #expect(try Matcher(parsing: #"path = "C:\\temp\nx""#).value == "C:\\temp\nx")
    }

    /// As in Alertmanager, only \n, \" and \\ are escapes in a quoted value; any other
    /// backslash stays, so a regex class such as \d survives the quotes.
    @Test func otherBackslashesInQuotedValuesAreKept() throws {
        let digits = try Matcher(parsing: #"pop =~ "ICN\d+""#)
        #expect(digits.value == #"ICN\d+"#)
        #expect(digits.matches(["pop": "ICN12"]))
        #expect(!digits.matches(["pop": "ICNd"]))
        #expect(try Matcher(parsing: #"host =~ "edge\.example""#).matches(["host": "edge.example"]))
        #expect(try !Matcher(parsing: #"host =~ "edge\.example""#).matches(["host": "edgeXexample"]))
        #expect(try Matcher(parsing: #"x = "a\tb""#).value == #"a\tb"#)
        // Anchored at the very end, as Go's RE2 anchors: a trailing line break does not match.
        #expect(try !Matcher(parsing: #"pop =~ "ICN\d""#).matches(["pop": "ICN1\n"]))
    }

    @Test func rejectsBadInput() {
        #expect(throws: MatcherError.self) { try Matcher(parsing: "= value") }
        #expect(throws: MatcherError.self) { try Matcher(parsing: "pop ~ ICN1") }
        #expect(throws: MatcherError.self) { try Matcher(parsing: "pop =~ \"(unclosed\"") }
        // NSRegularExpression says no more than "invalid" on Linux; the problem says why.
        #expect(throws: MatcherError.invalidRegex("Edge[.*", "expected ']'")) { try Matcher(parsing: "alertname =~ \"Edge[.*\"") }
        #expect(throws: MatcherError.self) { try Matcher(parsing: "pop = \"unterminated") }
        #expect(throws: MatcherError.self) { try Matcher(parsing: "9pop = x") }
    }

    @Test func allMatchersMustHold() throws {
        let ms = try ["alertname = EdgeLatencyHigh", "pop =~ ICN.*"].map { try Matcher(parsing: $0) }
        #expect(ms.matchAll(labels))
        #expect(ms.matchAll(["alertname": "EdgeLatencyHigh", "pop": "NRT2"]) == false)
        #expect([Matcher]().matchAll(labels))
    }
}
