import Logging

/// swift-log's `StreamLogHandler`, except that metadata set on a logger is rendered only
/// when a message is actually logged.
///
/// Hummingbird sets a request id on every request's logger, and `StreamLogHandler`
/// renders its metadata into text on every set; with one alert per request that was
/// about 4% of the server's CPU, spent on text nobody reads at the `info` level.
struct DeferredMetadataLogHandler: LogHandler {
    private var stream: StreamLogHandler
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) {
        stream = StreamLogHandler.standardOutput(label: label)
    }

    var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        event.metadata = merged
        stream.log(event: event)
    }
}
