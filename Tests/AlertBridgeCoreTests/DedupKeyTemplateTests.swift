import AlertBridgeCore
import Testing

@Suite struct DedupKeyTemplateTests {
    @Test func rendersLabelsAndLiterals() throws {
        let t = try DedupKeyTemplate(parsing: "{{alertname}}/{{ pop }}/{{service}}")
        #expect(t.render(["alertname": "EdgeLatencyHigh", "pop": "ICN1", "service": "cdn-edge", "instance": "x"])
                == "EdgeLatencyHigh/ICN1/cdn-edge")
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
