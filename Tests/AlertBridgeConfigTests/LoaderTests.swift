@testable import AlertBridgeConfig
import Testing

/// Problems that concern whole files and directories, and reporting many at once.
@Suite struct LoaderTests {
    @Test func yamlSyntaxErrorIsPositioned() throws {
        let fixture = try Fixture(["rules/20-test.yaml": """
            rules:
              - name: a
                policy: standard
               match: ["pop = ICN1"]
            """])
        expectSingleProblem(fixture.problems(), at: "rules/20-test.yaml:4:4",
                            containing: "YAML syntax error: did not find expected '-' indicator")
        #expect(fixture.problems().first?.hasSuffix(": usually a line indented differently from the list items beside it") == true)
    }

    /// libyaml's words say what it saw; the commonest ones get what they usually mean.
    @Test func commonSyntaxErrorsSayWhatTheyUsuallyMean() throws {
        let indented = try Fixture(["rules/10.yaml": """
            rules:
              - name: a
                policy: standard
                 match: ["pop = ICN1"]
            """])
        expectSingleProblem(indented.problems(), at: "rules/10.yaml:4:11", containing: "mapping values are not allowed in this context"
                            + ": usually a key indented more or less than the keys beside it, or a value holding \": \" that needs quotes")
        let twoDocuments = try Fixture(["escalation-policies/q.yaml": "name: q\ntiers: []\n---\nname: r\n"])
        expectSingleProblem(twoDocuments.problems(), at: "escalation-policies/q.yaml:3:1",
                            containing: "a file holds one document: remove the second '---' (or put it in a file of its own)")
    }

    @Test func unclosedFlowSequenceIsPositioned() throws {
        let fixture = try Fixture(["escalation-policies/broken.yaml": "name: broken\ntiers: [\n"])
        let problems = fixture.problems()
        expectSingleProblem(problems, at: "escalation-policies/broken.yaml:3:1", containing: "YAML syntax error")
    }

    /// A tab is no token libyaml knows, and its own words do not say that it is one.
    @Test func tabIndentationIsNamed() throws {
        let fixture = try Fixture(["escalation-policies/standard.yaml": """
            name: standard
            tiers:
              - name: first
            \tnotify: [{connector: console}]
                escalate_after: 5m
            """])
        expectSingleProblem(fixture.problems(), at: "escalation-policies/standard.yaml:4:1",
                            containing: "a tab character: YAML indents with spaces, not tabs")
    }

    /// At the repeat, which is the line to delete or rename, not at the key it repeats. The
    /// rest of the file is checked as its last occurrences say (a repeated key hid every
    /// other problem, black-box round 21): here rule "b" matches every alert.
    @Test func duplicateYamlKeyIsPositioned() throws {
        let fixture = try Fixture(["rules/20-test.yaml": """
            rules:
              - name: a
                policy: standard
                name: b
            """])
        let problems = fixture.problems()
        expectProblem(problems, at: "rules/20-test.yaml:4:5", containing: "duplicate key \"name\" in one mapping (first at line 2)")
        expectProblem(problems, at: "rules/20-test.yaml:2:5", containing: "rule \"b\" matches every alert")
        #expect(problems.count == 2, "\(problems)")
    }

    /// A key written twice in the server file and other mistakes in it: every one is
    /// reported at once, as `check` promises.
    @Test func aRepeatedKeyInTheServerFileHidesNothingElse() throws {
        let fixture = try Fixture(["alertbridge.yaml": "time_zone: UTC\ntime_zone: Asia/Seoul\nlisen: 127.0.0.1:8080\n"])
        let problems = fixture.problems(configFile: "alertbridge.yaml")
        expectProblem(problems, at: "alertbridge.yaml:2:1", containing: "duplicate key \"time_zone\" in one mapping (first at line 1)")
        expectProblem(problems, at: "alertbridge.yaml:3:1", containing: "lisen")
    }

    /// Two policies pasted into one file: each repeated key where it repeats, also a key
    /// written twice before (quoted or not).
    @Test func everyDuplicateYamlKeyIsPositioned() throws {
        let fixture = try Fixture(["escalation-policies/standard.yaml": """
            name: standard
            tiers: [{name: first, notify: [{connector: console}], escalate_after: 5m}]
            repeat: 1
            name: other
            tiers: [{name: first, notify: [{connector: console}], escalate_after: 5m}]
            "repeat": 2
            """])
        let problems = fixture.problems()
        #expect(problems == [
            // The file read as its last occurrences say: a policy named "other".
            "rules/90-base.yaml:3:13: policy \"standard\" is not defined (defined: other)",
            "escalation-policies/standard.yaml:4:1: duplicate key \"name\" in one mapping (first at line 1)",
            "escalation-policies/standard.yaml:5:1: duplicate key \"tiers\" in one mapping (first at line 2)",
            "escalation-policies/standard.yaml:6:1: duplicate key \"repeat\" in one mapping (first at line 3)",
        ])
    }

    @Test func missingDirectoryIsOneProblem() throws {
        let fixture = try Fixture(["rules/90-base.yaml": nil])
        expectSingleProblem(fixture.problems(), at: "rules:1:1", containing: "the directory does not exist")
    }

    /// `alertbridge serve` run outside the repository, with no server file: the problem says
    /// where it looked and how to point it elsewhere.
    @Test func missingDefaultDirectoriesSayWhereTheyWereLookedFor() throws {
        let fixture = try Fixture(base: false)
        let problems = fixture.problems()
        let why = " (with no alertbridge.yaml there, rules/ and escalation-policies/ are read from the current directory: "
            + "run where they are, or pass --config FILE)"
        #expect(problems == ["rules:1:1: the directory does not exist in \(fixture.directory)\(why)",
                             "escalation-policies:1:1: the directory does not exist in \(fixture.directory)\(why)"])
        // A server file that names no directory (an empty one, say): they are its
        // directory's, and the problem says so (it said only `rules:1:1: the directory does not exist`).
        let named = try Fixture(["alertbridge.yaml": "listen: 127.0.0.1:8080\n"], base: false)
        #expect(named.problems() == [
            "rules:1:1: the directory does not exist in \(named.directory) (alertbridge.yaml sets no rules:, so the default beside it is read)",
            "escalation-policies:1:1: the directory does not exist in \(named.directory) (alertbridge.yaml sets no policies:, so the default beside it is read)",
        ])
    }

    /// A directory the server file names is reported where it is named: `rulez:1:1` would
    /// point into a path that does not exist. No "no rule is loaded" follows it.
    @Test func missingDirectoryOfTheServerFileIsReportedThere() throws {
        let fixture = try Fixture(["etc/alertbridge.yaml": "policies: ../escalation-policies\nrules: rulez\n"])
        expectSingleProblem(fixture.problems(configFile: "etc/alertbridge.yaml"), at: "etc/alertbridge.yaml:2:8",
                            containing: "the directory \"etc/rulez\" does not exist")
    }

    /// `--config DIR`: it said the file does not exist (black-box round 27).
    @Test func aDirectoryGivenAsTheServerFileSaysWhichFileToPass() throws {
        let fixture = try Fixture(["etc/alertbridge.yaml": "listen: 127.0.0.1:8080\n"])
        expectSingleProblem(fixture.problems(configFile: "etc"), at: "etc:1:1",
                            containing: "is a directory; pass the server file in it (--config etc/alertbridge.yaml)")
    }

    /// The broken file may have named other directories: only its own problem counts.
    @Test func serverFileThatDoesNotParseDoesNotCascade() throws {
        let fixture = try Fixture([
            "alertbridge.yaml": "rules: mine\npolicies: [\n",
            "mine/10-a.yaml": "rules:\n  - {name: a, policy: elsewhere}\n",
            "rules/90-base.yaml": nil, "escalation-policies/standard.yaml": nil,
        ])
        expectSingleProblem(fixture.problems(), at: "alertbridge.yaml:3:1", containing: "YAML syntax error")
    }

    @Test func missingPoliciesDirectoryDoesNotCascadeIntoRules() throws {
        let fixture = try Fixture(["alertbridge.yaml": "policies: policies\n"])
        expectSingleProblem(fixture.problems(), at: "alertbridge.yaml:1:11",
                            containing: "the directory \"policies\" does not exist")
    }

    @Test func topLevelThatIsNotAMappingIsPositioned() throws {
        let fixture = try Fixture([
            "rules/20-test.yaml": "- name: a\n  policy: standard\n",
            "escalation-policies/list.yaml": "# a comment first\n[cdn-performance]\n",
            "alertbridge.yaml": "\n\n  just text\n",
        ])
        let problems = fixture.problems()
        #expect(problems.count == 3, "\(problems)")
        expectProblem(problems, at: "alertbridge.yaml:3:3", containing: "expected a mapping of server settings")
        expectProblem(problems, at: "rules/20-test.yaml:1:1", containing: "expected a mapping with a \"rules\" list, found a list")
        expectProblem(problems, at: "escalation-policies/list.yaml:2:1", containing: "expected a mapping holding one policy")
    }

    /// No rule means every alert goes to the policy `default`: without it, nobody would
    /// ever be paged, and `check` says so instead of passing.
    @Test func noRuleAndNoDefaultPolicyIsAProblem() throws {
        let empty = try Fixture(["rules/90-base.yaml": "# all rules commented out\n"])
        expectSingleProblem(empty.problems(), at: "rules:1:1", containing: "no rule is loaded")
        let noFiles = try Fixture(["rules/90-base.yaml": nil, "rules/README": "not yaml"])
        expectSingleProblem(noFiles.problems(), at: "rules:1:1", containing: "a policy named default")
        // Named in the server file: reported at that name, not inside the directory.
        let named = try Fixture(["my-rules/a.yaml": "rules: []\n", "alertbridge.yaml": "store: sqlite:ab.db\nrules: my-rules\n"])
        expectSingleProblem(named.problems(), at: "alertbridge.yaml:2:8", containing: "no rule is loaded")
        let withDefault = try Fixture([
            "rules/90-base.yaml": "rules: []\n",
            "escalation-policies/default.yaml": Fixture.defaultPolicy,
        ])
        #expect(withDefault.problems() == [])
    }

    @Test func emptyPolicyFileIsReported() throws {
        let fixture = try Fixture(["escalation-policies/new.yaml": "# TODO\n"])
        expectSingleProblem(fixture.problems(), at: "escalation-policies/new.yaml:1:1", containing: "the file is empty")
    }

    /// One `check` run shows every problem of every file, in file order then line order.
    @Test func everyProblemOfEveryFileIsReported() throws {
        let fixture = try Fixture([
            "alertbridge.yaml": """
                lisen: 127.0.0.1:8080
                connectors:
                  chat: {type: slack, webhook_url: "${CHAT_URL}"}
                """,
            "rules/20-test.yaml": """
                rules:
                  - name: a
                    policy: nowhere
                    match: ["pop ICN1"]
                  - name: a
                    policy: standard
                    dedup_key: "fixed"
                """,
            "escalation-policies/test.yaml": """
                name: test
                tiers:
                  - {name: first, notify: [{connector: pager}], escalate_after: 0m}
                windows:
                  - {name: peak, when: "18:00-23:00 Mars/Olympus", escalate_after: 10m}
                """,
        ])
        let problems = fixture.problems()
        #expect(problems.count == 10, "\(problems)")
        let locations = problems.map { String($0.prefix { $0 != " " }) }
        // 5:5: the second rule takes every alert, before the fixture's rules.
        #expect(locations == [
            "alertbridge.yaml:1:1:", "alertbridge.yaml:3:36:",
            "rules/20-test.yaml:3:13:", "rules/20-test.yaml:4:13:", "rules/20-test.yaml:5:5:", "rules/20-test.yaml:5:11:",
            "rules/20-test.yaml:7:16:",
            "escalation-policies/test.yaml:3:40:", "escalation-policies/test.yaml:3:65:",
            "escalation-policies/test.yaml:5:24:",
        ])
        expectProblem(problems, at: "rules/20-test.yaml:7:16", containing: "uses no label")
    }

    @Test func errorDescriptionListsOneProblemPerLine() {
        let error = ConfigError(problems: [
            ConfigProblem(file: "a.yaml", line: 1, column: 2, message: "one"),
            ConfigProblem(file: "b.yaml", line: 3, column: 4, message: "two"),
        ])
        #expect(error.description == "a.yaml:1:2: one\nb.yaml:3:4: two")
    }
}
