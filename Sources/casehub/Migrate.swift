import ArgumentParser

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or upgrade the store's schema (serve also does it on start).")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        let configuration = try options.loadConfiguration()
        _ = try await options.openStore(configuration, logger: options.logger(configuration))
        print("schema is up to date")
    }
}
