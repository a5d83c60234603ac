import FuelModel
import Foundation

/// Every string the console shows, one catalogue per language (`Resources/texts/zh.json`,
/// `en.json`): Simplified Chinese by default, English alongside. A test fails when a key is in one
/// catalogue and not the other, or when a rule, severity or status has no name.
public struct ConsoleTexts: Sendable {
    /// The languages the console speaks, the default first.
    public static let languages = ["zh", "en"]

    public let catalogues: [String: [String: String]]

    /// Loads the catalogues shipped with the console.
    public static func bundled() throws -> ConsoleTexts {
        var out: [String: [String: String]] = [:]
        for lang in languages {
            guard let url = Bundle.module.url(forResource: lang, withExtension: "json", subdirectory: "texts") else {
                throw ConsoleError.missingResource("texts/\(lang).json")
            }
            out[lang] = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: url))
        }
        return ConsoleTexts(catalogues: out)
    }

    /// The catalogue of `lang` (the default language's for one the console does not speak).
    public func catalogue(_ lang: String) -> [String: String] { catalogues[lang] ?? catalogues[Self.languages[0]] ?? [:] }

    /// One string; its key when missing (which the catalogue test prevents).
    public func text(_ key: String, _ lang: String) -> String { catalogue(lang)[key] ?? key }

    /// The language a browser asks for in `Accept-Language` among those the console speaks.
    public static func language(acceptLanguage: String?) -> String {
        guard let header = acceptLanguage else { return languages[0] }
        var best: (lang: String, q: Double)?
        for part in header.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = fields.first?.lowercased(), !tag.isEmpty else { continue }
            let q = fields.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            let primary = String(tag.split(separator: "-").first ?? "")
            guard languages.contains(primary), q > (best?.q ?? 0) else { continue }
            best = (primary, q)
        }
        return best?.lang ?? languages[0]
    }
}

/// The console could not find or load what it ships with.
public enum ConsoleError: Error, CustomStringConvertible {
    case missingResource(String)
    case badTemplate(String, String)

    public var description: String {
        switch self {
        case .missingResource(let name): "the console's resource \(name) is missing from the FuelConsole bundle"
        case .badTemplate(let name, let why): "console template \(name): \(why)"
        }
    }
}
