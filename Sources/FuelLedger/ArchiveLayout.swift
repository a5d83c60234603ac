/// Where an archived period's files are, relative to its directory (`fuelwarden archive`).
public enum ArchiveLayout {
    public static let manifest = "manifest.json"
    public static let checkpoint = "checkpoint.json"

    /// A station's records: `records/<station>.ndjson`, the id with ASCII letters, digits, `-` and
    /// `_` kept and any other byte as `%XX` (ids come from the registry, and a file name must not
    /// climb out of the directory).
    public static func stationFile(_ station: String) -> String {
        var out = ""
        for b in station.utf8 {
            let c = Character(UnicodeScalar(b))
            if c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_") {
                out.append(c)
            } else {
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return "records/\(out).ndjson"
    }
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
