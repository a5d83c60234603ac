/// Why a finding or a gap is what it is, as a key and named values, so a console can say it in its
/// reader's language; the English sentence beside it stays for API clients and logs.
///
/// Values named `licence`, `approval`, `severity` or `rule` are kinds (`business`, `critical`,
/// `leak_suspected`) a catalogue names in its own language; the others are shown as they are.
public struct ReasonCode: Hashable, Sendable, Codable {
    public var key: String
    public var params: [String: String]

    public init(_ key: String, _ params: [String: String] = [:]) {
        self.key = key
        self.params = params
    }
}
