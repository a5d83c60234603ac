import FuelModel

/// Files the station's sales system (POS, dispenser integration) leaves in the agent's drop
/// directory: one record per line, in the push contract's fields without `seq` (the agent numbers
/// them), as NDJSON (`.ndjson`, `.jsonl`) or CSV (`.csv`: a header row naming the fields, `kind`
/// among them; lists such as a device status's `codes` separated by `;`; an empty cell is an
/// absent field). A line that does not read as a record is reported with its number and reason;
/// the other lines stand.
public enum DropFile {
    public enum Format: String, Sendable, Hashable {
        case ndjson, csv
    }

    /// The format a file's name says, or nil for a file the agent does not take (a temporary
    /// `.tmp`/`.part` or hidden file being written, anything else).
    public static func format(ofName name: String) -> Format? {
        guard !name.hasPrefix(".") else { return nil }
        let lower = name.lowercased()
        if lower.hasSuffix(".ndjson") || lower.hasSuffix(".jsonl") { return .ndjson }
        if lower.hasSuffix(".csv") { return .csv }
        return nil
    }

    /// One line of a file and what it says.
    public struct Line: Sendable {
        /// 1-based line number in the file.
        public var number: Int
        public var raw: String
        public var result: Result<Record, FieldError>
    }

    /// The fields written as numbers in the push contract; a CSV cell of one of these is a number.
    static let numberFields: Set<String> = [
        "volume_l", "unit_price", "amount", "totalizer_start_l", "totalizer_end_l", "declared_volume_l", "density_kg_m3",
        "tc_volume_l", "height_mm", "ullage_l", "water_mm", "temperature_c", "volume_total_l", "amount_total", "al_ratio",
        "pressure_pa", "concentration_g_m3",
    ]
    static let integerFields: Set<String> = ["status"]
    static let listFields: Set<String> = ["codes", "factors"]

    /// Every non-empty line of a file (the CSV header excepted).
    public static func parse(_ bytes: [UInt8], format: Format) -> [Line] {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }  // a byte-order mark, as spreadsheet programs write
        switch format {
        case .ndjson: return ndjson(text)
        case .csv: return csv(text)
        }
    }

    static func ndjson(_ text: String) -> [Line] {
        var out: [Line] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let raw = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            guard !raw.allSatisfy({ $0 == " " || $0 == "\t" }) else { continue }
            let result: Result<Record, FieldError>
            do {
                result = .success(try PushRecordCodec.decodeBody(Array(raw.utf8)))
            } catch {
                result = .failure(error)
            }
            out.append(Line(number: i + 1, raw: raw, result: result))
        }
        return out
    }

    static func csv(_ text: String) -> [Line] {
        let rows = CSVRows.parse(text)
        guard let header = rows.first(where: { !$0.cells.allSatisfy(\.isEmpty) }) else { return [] }
        let names = header.cells.map { $0.trimmingBlanks() }
        var out: [Line] = []
        for row in rows where row.line > header.line && !row.cells.allSatisfy(\.isEmpty) {
            out.append(Line(number: row.line, raw: row.raw, result: record(names: names, cells: row.cells)))
        }
        return out
    }

    static func record(names: [String], cells: [String]) -> Result<Record, FieldError> {
        guard cells.count <= names.count else {
            return .failure(FieldError("csv", "\(cells.count) cells but the header names \(names.count) columns"))
        }
        var object: [(String, JSONValue)] = []
        for (name, cell) in zip(names, cells) {
            let value = cell.trimmingBlanks()
            guard !value.isEmpty, !name.isEmpty else { continue }
            if numberFields.contains(name) {
                guard let d = Double(value), d.isFinite else { return .failure(FieldError(name, "\"\(value)\" is not a number")) }
                object.append((name, .number(d, exactInteger: nil)))
            } else if integerFields.contains(name) {
                guard let n = Int64(value) else { return .failure(FieldError(name, "\"\(value)\" is not a whole number")) }
                object.append((name, .number(Double(n), exactInteger: n)))
            } else if listFields.contains(name) {
                object.append((name, .array(value.split(separator: ";").map { .string($0.trimmingBlanks()) })))
            } else {
                object.append((name, .string(value)))
            }
        }
        do {
            return .success(try PushRecordCodec.decodeBody(Array(JSONValue.object(object).jsonText.utf8)))
        } catch {
            return .failure(error)
        }
    }
}

/// RFC 4180 rows: commas, double-quoted cells (with `""` for a quote and line breaks inside),
/// CRLF or LF. Each row keeps the number of the line it starts on and its text.
enum CSVRows {
    struct Row {
        var line: Int
        var raw: String
        var cells: [String]
    }

    static func parse(_ text: String) -> [Row] {
        var rows: [Row] = []
        var cells: [String] = []
        var cell = ""
        var raw = ""
        var quoted = false
        var line = 1
        var rowLine = 1
        var chars = Array(text)
        if chars.last != "\n" { chars.append("\n") }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.count, chars[i + 1] == "\"" {
                        cell.append("\""); raw.append("\"\""); i += 2; continue
                    }
                    quoted = false
                } else {
                    if c == "\n" { line += 1 }
                    cell.append(c)
                }
                raw.append(c)
            } else if c == "\"" {
                quoted = true
                raw.append(c)
            } else if c == "," {
                cells.append(cell); cell = ""; raw.append(c)
            } else if c == "\n" || c == "\r\n" || c == "\r" {
                // (Swift reads CRLF as one Character.)
                cells.append(cell)
                rows.append(Row(line: rowLine, raw: raw, cells: cells))
                (cells, cell, raw) = ([], "", "")
                line += 1
                rowLine = line
            } else {
                cell.append(c)
                raw.append(c)
            }
            i += 1
        }
        return rows
    }
}
