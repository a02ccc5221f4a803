import ArgumentParser
import CaseHubDelivery
import CaseHubServer
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the hub: HTTP API on the configured address, on the configured store.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Listen address (overrides CASEHUB_HOST).")
    var host: String?

    @Option(help: "Listen port; 0 picks a free one (overrides CASEHUB_PORT).")
    var port: Int?

    /// Why binding the listening socket fails.
    static let listenErrors: Set<Int32> = [EADDRINUSE, EADDRNOTAVAIL, EACCES]

    func run() async throws {
        var configuration = try options.loadConfiguration()
        if let host { configuration.host = host }
        if let port {
            guard (0...65535).contains(port) else { throw Fatal.exit(2, "--port: must be a port number from 0 to 65535") }
            configuration.port = port
        }
        for name in HubConfiguration.unknownVariables(in: ProcessInfo.processInfo.environment) {
            FileHandle.standardError.write(Data("casehub: warning: \(name) is not a configuration variable; ignored\n".utf8))
        }
        let logLevel = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = DeferredMetadataLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = logLevel
            return handler
        }
        let logger = options.logger(configuration)
        let store = try await options.openStore(configuration, logger: logger)
        let host = configuration.host
        let templates: TemplateCatalog
        let console: WebConsole
        do {
            templates = try await TemplateCatalog()
            console = try WebConsole()
        } catch {
            throw Fatal.exit(2, "templates: \(error)")
        }
        // Before the worker: the metrics it makes must reach the registry `/metrics` shows.
        let metrics = bootstrapMetrics()
        let worker = buildDeliveryWorker(configuration: configuration, store: store, templates: templates, logger: logger)
        let scheduler = buildFiringScheduler(configuration: configuration, store: store, templates: templates, logger: logger)
        let listening = Atomic(false)
        let app = buildApplication(
            configuration: configuration, store: store, logger: logger, metrics: metrics, console: console,
            services: [worker, scheduler]
        ) { port in
            listening.store(true, ordering: .relaxed)
            // One line on stdout that scripts (and tests started with port 0) can read.
            FileHandle.standardOutput.write(Data("casehub listening on http://\(host):\(port)\n".utf8))
        }
        do {
            try await app.runService()
        } catch let error as IOError where !listening.load(ordering: .relaxed) && Self.listenErrors.contains(error.errnoCode) {
            // The port is taken, or not ours to take: a start-up error like the configuration's.
            throw Fatal.exit(2, "cannot listen on \(host):\(configuration.port): \(String(cString: strerror(error.errnoCode)))")
        } catch where !listening.load(ordering: .relaxed) && (error is SocketAddressError || error is SocketAddressError.UnknownHost) {
            // A host name that does not resolve: as much a start-up error as a malformed one.
            throw Fatal.exit(2, "host: cannot listen on \(host):\(configuration.port): \(error)")
        }
    }
}
