@testable import AlertBridgeStore
import AlertBridgeCore
import Foundation
import Testing

/// The label columns' fast reader must agree with `JSONDecoder` wherever it answers, and
/// hand everything it does not read exactly back to it.
@Suite struct StringMapJSONTests {
    @Test func readsWhatJSONWriterWrites() throws {
        for labels: Labels in [[:], ["pop": "ICN1"], ["alertname": "EdgeLatencyHigh", "pop": "ICN1", "서울": "🚨 / ok"]] {
            let text = JSONWriter.text { $0.value(labels) }
            #expect(StringMapJSON.decode(text) == labels, "\(text)")
        }
    }

    @Test func readsWhatPostgreSQLPrintsForAJSONBObject() throws {
        #expect(StringMapJSON.decode(#"{"pop": "ICN1", "service": "cdn-edge"}"#) == ["pop": "ICN1", "service": "cdn-edge"])
        #expect(StringMapJSON.decode(#"{ "a" : "b" }"#) == ["a": "b"])
        #expect(StringMapJSON.decode("{}") == [:])
    }

    @Test func declinesWhatItDoesNotReadExactly() throws {
        // Escapes go to JSONDecoder; so does anything that is not a flat object of strings.
        for text in [#"{"a":"say \"hi\""}"#, #"{"a":"line\nbreak"}"#, #"{"a": 1}"#, #"{"a":1}"#, #"{"a":"b"} x"#,
                     #"{"a":"b""#, #"["a"]"#, "", #"{"a""#] {
            #expect(StringMapJSON.decode(text) == nil, "\(text)")
        }
        // And what is declined still reads back through the store's fallback.
        let tricky: Labels = ["a": "quote \" newline \n tab \t", "b": "plain"]
        let text = JSONWriter.text { $0.value(tricky) }
        #expect(StringMapJSON.decode(text) == nil)
        #expect(try JSONDecoder().decode(Labels.self, from: Data(text.utf8)) == tricky)
    }
}
