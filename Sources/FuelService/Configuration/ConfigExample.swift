/// Writes the documented example configuration file from ``ConfigTable``: every key with its
/// comments and default (keys without a default commented out with an example value).
/// `config/fuelwarden.example.yaml` is this text; a test keeps the two equal.
public enum ConfigExample {
    public static func yaml() -> String {
        var out = ConfigTable.header.map { "# " + $0 }
        var open: [String] = []

        /// Opens the maps of `path` that are not open yet; a new top-level section starts after a blank line.
        func enter(_ path: [String]) {
            let common = zip(open, path).prefix { $0 == $1 }.count
            for depth in common..<path.count {
                if depth == 0 { out.append("") }
                out.append(String(repeating: "  ", count: depth) + path[depth] + ":")
            }
            open = path
        }
        func comments(_ lines: [String], depth: Int) {
            out += lines.map { String(repeating: "  ", count: depth) + "# " + $0 }
        }

        for entry in ConfigTable.entries {
            switch entry {
            case .section(let path, let help):
                let components = path.split(separator: ".").map(String.init)
                enter(components)
                comments(help, depth: components.count)
            case .setting(let s):
                var components = s.key.split(separator: ".").map(String.init)
                let name = components.removeLast()
                enter(components)
                let indent = String(repeating: "  ", count: components.count)
                comments(s.help, depth: components.count)
                if let value = s.defaultText {
                    out.append(indent + name + ": " + value)
                } else if let example = s.example {
                    out.append(indent + (s.shown ? "" : "# ") + name + ": " + ConfigText.scalar(example))
                }
            }
        }
        return out.joined(separator: "\n") + "\n"
    }
}
