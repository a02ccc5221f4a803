import HTTPTypes

extension HTTPFields {
    /// The first value of a field. The plain subscript joins every value of the name into a
    /// new string, which costs more than the lookup on each request.
    func first(_ name: HTTPField.Name) -> String? {
        first { $0.name == name }?.value
    }
}
