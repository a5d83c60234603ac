import FuelModel
import Foundation
import Testing
import Yams

/// The OpenAPI document is a contract; what the code enumerates must be what it lists. (The whole
/// document is validated and exercised against a live daemon by `.ci/contract`.)
@Suite struct OpenAPIDocumentTests {
    static func document() throws -> String {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/FuelService/Resources/openapi.yaml").standardizedFileURL.path
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    /// The values listed under `enum:` of components.schemas.NAME (block style: `- value` lines).
    static func componentEnum(_ name: String, in doc: String) throws -> [String] {
        let lines = doc.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex(of: "    \(name):"), "components.schemas.\(name) is missing")
        let enumLine = try #require(lines[start...].prefix(4).firstIndex { $0.trimmingCharacters(in: .whitespaces) == "enum:" })
        return lines[(enumLine + 1)...].prefix { $0.hasPrefix("      - ") }.map { String($0.dropFirst(8)) }
    }

    /// It parses (a stray quote in a summary ends its string; the validator in CI caught one).
    @Test func theDocumentIsYAML() throws {
        let parsed = try Yams.load(yaml: try Self.document()) as? [String: Any]
        #expect(parsed?["openapi"] != nil && (parsed?["paths"] as? [String: Any])?.isEmpty == false)
    }

    @Test func everyAlertRuleAndSeverityIsDocumented() throws {
        let doc = try Self.document()
        #expect(try Self.componentEnum("AlertRule", in: doc) == AlertRule.allCases.map(\.rawValue))
        #expect(try Self.componentEnum("Severity", in: doc) == Severity.allCases.map(\.rawValue))
    }
}
