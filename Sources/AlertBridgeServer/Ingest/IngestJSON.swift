import AlertBridgeCore
import Hummingbird

/// The two hot ingest formats, decoded straight from the request bytes into alerts.
///
/// `JSONDecoder` spent a third of the CPU of an alert storm on these bodies; these read
/// them in one pass over the `ByteBuffer`'s own memory, with the same validation, error
/// messages and field paths. Public so the benchmark's ceiling route measures this very
/// decoder.
public enum IngestJSON {
    /// Decodes, validates and normalises a native body (DESIGN.md §3): one alert object,
    /// or a non-empty array of them; `isArray` says which, for an answer in kind.
    /// - Throws: a 400 ``APIError`` naming the field, or "malformed JSON…" with the place.
    public static func nativeAlerts(from body: ByteBuffer, limits: IngestLimits) throws(APIError)
        -> (alerts: [Alert], isArray: Bool) {
        try body.withUnsafeReadableBytes { raw in
            Result { () throws(APIError) in try NativeAlertReader.read(raw.bindMemory(to: UInt8.self), limits: limits) }
        }.get()
    }

    /// Decodes, validates and normalises an Alertmanager webhook (payload version 4).
    /// - Throws: a 400 ``APIError`` naming the field, or "malformed JSON…" with the place.
    public static func alertmanagerAlerts(from body: ByteBuffer, limits: IngestLimits) throws(APIError) -> [Alert] {
        try body.withUnsafeReadableBytes { raw in
            Result { () throws(APIError) in try AlertmanagerReader.read(raw.bindMemory(to: UInt8.self), limits: limits) }
        }.get()
    }
}
