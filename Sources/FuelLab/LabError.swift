/// A laboratory run that cannot go on, with a message for whoever runs it.
package struct LabError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
