import CaseHubServer
import CaseHubStore
import Logging
import PostgresNIO

/// How long start-up waits for PostgreSQL to answer.
let postgresConnectTimeout = Duration.seconds(10)

/// Opens a PostgreSQL store, runs its connection pool for as long as the process lives, and
/// migrates it. A server that cannot be used ends start-up (exit 2) with its own reason.
func openPostgres(url: String, configuration: HubConfiguration, logger: Logger) async throws -> PostgresStore {
    let location = try failingWithStatus2(prefix: "configuration error: database_url") { try PostgresLocation(url: url) }
    let store = try failingWithStatus2(prefix: "database_url") {
        try PostgresStore(location: location, logger: logger, policy: configuration.access, coordination: configuration.coordination)
    }
    let server = "\(location.host):\(location.port)"
    do {
        try await store.probe(timeout: postgresConnectTimeout)
    } catch let error as PSQLError {
        let reason = error.serverInfo?[.message] ?? error.underlying.map { "\($0)" } ?? "\(error.code)"
        throw Fatal.exit(2, "database_url: cannot use PostgreSQL at \(server): \(reason)")
    } catch {
        throw Fatal.exit(2, "database_url: cannot use PostgreSQL at \(server): \(error)")
    }
    Task { try? await store.run() }
    try await migrateOrExit(store)
    return store
}

/// Brings the store's schema up to date, or ends start-up (exit 2).
func migrateOrExit(_ store: any Store) async throws {
    do {
        try await store.migrate()
    } catch {
        throw Fatal.exit(2, "database_url: cannot migrate the store: \(error)")
    }
}
