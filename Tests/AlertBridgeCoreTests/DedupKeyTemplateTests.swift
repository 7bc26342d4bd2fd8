import AlertBridgeCore
import Testing

@Suite struct DedupKeyTemplateTests {
    @Test func rendersLabelsAndLiterals() throws {
        let t = try DedupKeyTemplate(parsing: "{{alertname}}/{{ pop }}/{{service}}")
        #expect(t.render(["alertname": "EdgeLatencyHigh", "pop": "ICN1", "service": "cdn-edge", "instance": "x"])
                == "EdgeLatencyHigh/ICN1/cdn-edge")
    }

    /// Three 1 KiB label values would make a 3 KiB key, which PostgreSQL cannot index: it is
    /// cut to 512 bytes, ending in the whole key's hash so that distinct keys stay distinct.
    @Test func aLongKeyIsCutButStaysDistinct() throws {
        let t = try DedupKeyTemplate(parsing: "{{a}}/{{b}}/{{c}}")
        let long = String(repeating: "지", count: 340)  // 1,020 bytes
        let one = t.render(["a": long, "b": long, "c": long + "1"])
        let two = t.render(["a": long, "b": long, "c": long + "2"])
        #expect(one.utf8.count <= DedupKeyTemplate.maxRenderedBytes)
        #expect(one != two)
        #expect(one == t.render(["a": long, "b": long, "c": long + "1"]))
        #expect(one.hasPrefix(String(long.prefix(100))))
        #expect(t.render(["a": "x", "b": "y", "c": "z"]) == "x/y/z")
    }

    @Test func missingLabelRendersEmpty() throws {
        #expect(try DedupKeyTemplate(parsing: "PopDown/{{pop}}").render([:]) == "PopDown/")
    }

    @Test func rejectsBrokenTemplates() {
        #expect(throws: TemplateError.unclosed("{{pop")) { try DedupKeyTemplate(parsing: "{{pop") }
        #expect(throws: TemplateError.badLabel("{{po p}}", "po p")) { try DedupKeyTemplate(parsing: "{{po p}}") }
        #expect(throws: TemplateError.noLabels("static")) { try DedupKeyTemplate(parsing: "static") }
    }
}
