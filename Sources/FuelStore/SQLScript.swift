import Foundation

/// Splits a SQL script into statements. The extended query protocol that postgres-nio speaks takes
/// one statement at a time, so migration files are split on `;` outside comments, quoted strings,
/// quoted identifiers and dollar-quoted bodies.
enum SQLScript {
    /// One statement, and whether a `-- fuelwarden: repeat` line came before it (a batched backfill:
    /// run again until it answers 0).
    struct Statement: Equatable {
        var sql: String
        var repeats = false
    }

    static func statements(_ script: String) -> [String] { parts(script).map(\.sql) }

    static func parts(_ script: String) -> [Statement] {
        let s = Array(script.unicodeScalars)
        var out: [Statement] = []
        var current = String.UnicodeScalarView()
        var repeats = false
        var i = 0
        func flush() {
            let text = String(current).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { out.append(Statement(sql: text, repeats: repeats)) }
            current = String.UnicodeScalarView()
            repeats = false
        }
        while i < s.count {
            let c = s[i]
            if c == "-", i + 1 < s.count, s[i + 1] == "-" {
                let start = i
                while i < s.count, s[i] != "\n" { i += 1 }
                let comment = String(String.UnicodeScalarView(s[(start + 2)..<i])).trimmingCharacters(in: .whitespaces)
                if comment.replacingOccurrences(of: " ", with: "") == "fuelwarden:repeat" { repeats = true }
                continue
            }
            if c == "/", i + 1 < s.count, s[i + 1] == "*" {
                i += 2
                while i + 1 < s.count, !(s[i] == "*" && s[i + 1] == "/") { i += 1 }
                i += 2
                continue
            }
            if c == "'" || c == "\"" {
                current.append(c)
                i += 1
                while i < s.count {
                    current.append(s[i])
                    if s[i] == c {
                        if i + 1 < s.count, s[i + 1] == c { current.append(s[i + 1]); i += 2; continue }
                        i += 1
                        break
                    }
                    i += 1
                }
                continue
            }
            if c == "$" {
                var j = i + 1
                while j < s.count, s[j] == "_" || s[j].properties.isAlphabetic || ("0"..."9").contains(s[j]) { j += 1 }
                if j < s.count, s[j] == "$" {
                    let tag = Array(s[i...j])
                    current.append(contentsOf: tag)
                    i = j + 1
                    while i < s.count {
                        if s[i] == "$", i + tag.count <= s.count, Array(s[i..<(i + tag.count)]) == tag {
                            current.append(contentsOf: tag)
                            i += tag.count
                            break
                        }
                        current.append(s[i])
                        i += 1
                    }
                    continue
                }
            }
            if c == ";" {
                flush()
                i += 1
                continue
            }
            current.append(c)
            i += 1
        }
        flush()
        return out
    }
}
