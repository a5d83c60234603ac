/// A record or registry entry that is wrong in one field: `delivery.tank: unknown tank T9`.
public struct FieldError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Dotted path of the offending field, prefixed by the record kind or registry entry.
    public var field: String
    public var message: String

    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}
