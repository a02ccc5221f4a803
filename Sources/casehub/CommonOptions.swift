import ArgumentParser
import CaseHubServer
import CaseHubStore
import Foundation
import Logging

/// Options every command that touches the store takes.
struct CommonOptions: ParsableArguments {
    @Option(help: "Configuration file (default: $CASEHUB_CONFIG or config/casehub.yaml).")
    var config: String?

    @Option(help: "Database URL, sqlite:///path/file.sqlite or postgres://… (overrides CASEHUB_DATABASE_URL).")
    var database: String?

    /// The configuration from file and environment, with `--database` over both.
    func loadConfiguration() throws -> HubConfiguration {
        try failingWithStatus2 {
            var configuration = try HubConfiguration.load(file: config, environment: ProcessInfo.processInfo.environment)
            if let database { configuration.database = try DatabaseLocation(url: database) }
            return configuration
        }
    }

    /// Opens the configured store and brings its schema up to date, or, for inspection
    /// (`log verify`, `export`), opens it read-only as it is: evidence is not changed by
    /// being examined, and a mistyped path creates nothing.
    func openStore(_ configuration: HubConfiguration, logger: Logger, inspecting: Bool = false) async throws -> any Store {
        switch configuration.database {
        case .sqlite(let path):
            let store = try failingWithStatus2(prefix: "database_url: cannot open \(path)") {
                try SQLiteStore(
                    path: path, logger: logger, readOnly: inspecting, policy: configuration.access, coordination: configuration.coordination)
            }
            if !inspecting { try await migrateOrExit(store) }
            return store
        case .postgres(let url):
            // Inspecting commands migrate too: instances sharing the database run one schema.
            return try await openPostgres(url: url, configuration: configuration, logger: logger)
        }
    }

    func logger(_ configuration: HubConfiguration) -> Logger {
        var logger = Logger(label: "casehub")
        logger.logLevel = configuration.logLevel
        return logger
    }
}

/// Ends the command with one line on standard error and an exit status.
enum Fatal {
    static func exit(_ status: Int32, _ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("casehub: \(message)\n".utf8))
        return ExitCode(status)
    }
}

/// Runs `body`, turning any error into one line on standard error and exit status 2.
func failingWithStatus2<T>(prefix: String? = nil, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        throw Fatal.exit(2, prefix.map { "\($0): \(error)" } ?? "\(error)")
    }
}
