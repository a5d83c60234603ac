/// A laboratory run that cannot go on, with a message for whoever runs it.
public struct LabError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
