extension String {
    /// Without leading and trailing white space and line breaks (Unicode's White_Space), as
    /// `trimmingCharacters(in: .whitespacesAndNewlines)` gives, without Foundation's bridging.
    var trimmed: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
