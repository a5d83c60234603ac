import Foundation
import Mustache

/// The console's pages as Mustache templates (`Resources/templates/*.mustache`), loaded once. Every
/// `{{value}}` is HTML-escaped by the template engine (quotes included, so values are safe in
/// attributes too); no template uses the unescaped form.
public struct ConsoleTemplates: Sendable {
    let library: MustacheLibrary

    public static let names = ["layout", "signin", "alerts", "alert", "station", "cities", "inspection", "batch", "gaps", "error", "figure"]

    public static func bundled() throws -> ConsoleTemplates {
        var library = MustacheLibrary()
        for name in names {
            guard let url = Bundle.module.url(forResource: name, withExtension: "mustache", subdirectory: "templates") else {
                throw ConsoleError.missingResource("templates/\(name).mustache")
            }
            let text = try String(contentsOf: url, encoding: .utf8)
            if text.contains("{{{") || text.contains("{{&") { throw ConsoleError.badTemplate(name, "unescaped output is not allowed") }
            do {
                try library.register(text, named: name)
            } catch {
                throw ConsoleError.badTemplate(name, "\(error)")
            }
        }
        return ConsoleTemplates(library: library)
    }

    /// The page `name` rendered with `context`.
    public func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
    }
}
