import Logging

/// Writes what `StreamLogHandler` writes, but formats the logger's metadata only when a line
/// is logged.
///
/// `StreamLogHandler` formats its metadata again whenever the metadata changes, and the HTTP
/// server gives every request's logger a request id: with it, every request paid for formatting
/// a line that, at the usual log levels, is never written.
public struct DeferredMetadataLogHandler: LogHandler {
    private var output: StreamLogHandler
    public var metadata: Logger.Metadata = [:]

    /// - Parameter output: writes the lines; its own metadata is left empty.
    public init(_ output: StreamLogHandler) {
        self.output = output
    }

    public var logLevel: Logger.Level {
        get { output.logLevel }
        set { output.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { output.metadataProvider }
        set { output.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            // The line's own metadata wins over the logger's, as in `StreamLogHandler`.
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        output.log(event: event)
    }
}
