import CaseHubCore
import Hummingbird

extension Request {
    /// An integer query parameter within `range`, or nil when absent; 400 naming it otherwise.
    func queryInt(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = uri.queryParameters[Substring(name)] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw CaseHubError.invalidRequest(field: name, "must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func queryString(_ name: String) -> String? {
        uri.queryParameters[Substring(name)].map(String.init)
    }
}

extension Parameters {
    func require(_ name: String) throws -> String {
        guard let value = get(name) else { throw CaseHubError.invalidRequest(field: name, "is required") }
        return value
    }
}
