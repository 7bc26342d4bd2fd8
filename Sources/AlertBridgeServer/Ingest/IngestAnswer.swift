import AlertBridgeCore
import Hummingbird

/// The answer to an ingest request: `{dedup_key, incident_id, outcome}` per alert, written
/// by hand because it is sent once per request on the hot path.
enum IngestAnswer {
    /// An array of outcomes, or (`single`) the first one as a plain object.
    static func response(_ outcomes: [IngestOutcome], single: Bool = false) -> Response {
        let text = single ? JSONWriter.text { w in w.object { write(&$0, outcomes[0]) } } : JSONWriter.array(outcomes, write)
        return Response(status: .accepted, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    private static func write(_ w: inout JSONWriter, _ outcome: IngestOutcome) {
        w.field("dedup_key", outcome.dedupKey)
        w.field("incident_id", outcome.incidentID)
        w.field("outcome", outcome.kind.rawValue)
    }
}
