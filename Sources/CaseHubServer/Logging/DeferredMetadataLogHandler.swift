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
    public var metadataProvider: Logger.MetadataProvider?

    /// - Parameter output: writes the lines; its own metadata and provider are left to this
    ///   handler.
    public init(_ output: StreamLogHandler) {
        self.output = output
        self.metadataProvider = output.metadataProvider
        self.output.metadataProvider = nil
    }

    public var logLevel: Logger.Level {
        get { output.logLevel }
        set { output.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // What `StreamLogHandler` would merge: the logger's metadata, then the provider's, then
        // the line's own, each winning over the one before.
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty { merged.merge(provided) { _, provided in provided } }
        if let explicit = event.metadata, !explicit.isEmpty { merged.merge(explicit) { _, explicit in explicit } }
        var event = event
        event.metadata = merged.isEmpty ? nil : merged
        output.log(event: event)
    }
}
