import Foundation
import FuelWire
import PropertyBased
import Testing
import Yams

/// The YAML reader (libyaml's events composed into nodes) against exact cases and against Yams, an
/// independent reader: the project's own YAML files and random documents Yams writes.
@Suite struct YAMLNodeTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    @Test func composesMappingsSequencesAndScalars() throws {
        let n = try #require(try YAMLNode.compose("""
            station: LN-SY-0001
            port: 9212
            quoted: "~"
            empty:
            tanks: [T1, "T2"]
            nested:
              - {id: N1, tank: T1}
              - id: 站点
            """))
        #expect(n["station"]?.string == "LN-SY-0001")
        #expect(n["port"]?.string == "9212")
        #expect(n["quoted"] == .scalar(.init(string: "~", isPlain: false)))
        #expect(n["empty"] == .scalar(.init(string: "", isPlain: true)))
        guard case .sequence(let tanks)? = n["tanks"] else { Issue.record("tanks is not a list"); return }
        #expect(tanks.map(\.string) == ["T1", "T2"])
        guard case .sequence(let nested)? = n["nested"] else { Issue.record("nested is not a list"); return }
        #expect(nested.map { $0["id"]?.string } == ["N1", "站点"])
        #expect(n["missing"] == nil)
    }

    @Test func anchorsAndAliasesAreResolved() throws {
        let n = try #require(try YAMLNode.compose("base: &b {host: 10.0.0.5, port: 10001}\ncopy: *b\n"))
        #expect(n["copy"] == n["base"])
        #expect(n["copy"]?["port"]?.string == "10001")
    }

    @Test func noDocumentIsNil() throws {
        #expect(try YAMLNode.compose("") == nil)
        #expect(try YAMLNode.compose("# only a comment\n") == nil)
    }

    @Test(arguments: [
        ("a: [1, 2\n", "line"),
        ("a: 1\n b: 2\n", "line 2"),
        ("a: *nowhere\n", "unknown alias *nowhere"),
        ("a: 1\n---\nb: 2\n", "more than one document"),
        ("key: \"unterminated\n", "line"),
    ])
    func invalidTextNamesWhere(text: String, expected: String) {
        #expect { try YAMLNode.compose(text) } throws: { error in
            "\(error)".contains(expected)
        }
    }

    /// A "billion laughs" document (each level nine aliases of the one before) is refused, not
    /// expanded; so is nesting deeper than the limit. A few aliases of a big node stay fine.
    @Test func aliasBombsAndDeepNestingAreRefused() throws {
        var bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 { bomb += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ") + "]\n" }
        #expect { try YAMLNode.compose(bomb) } throws: { "\($0)".contains("expand it beyond") }
        let deep = String(repeating: "[", count: YAMLNode.maxDepth + 1) + String(repeating: "]", count: YAMLNode.maxDepth + 1)
        #expect { try YAMLNode.compose(deep) } throws: { "\($0)".contains("nested deeper") }
        let fine = "big: &b [" + Array(repeating: "v", count: 1_000).joined(separator: ", ") + "]\nc1: *b\nc2: *b\n"
        #expect(try YAMLNode.compose(fine)?["c2"] == YAMLNode.compose(fine)?["big"])
    }

    /// Every single-document YAML file in the repository reads as Yams reads it.
    @Test(arguments: ["config/agent.example.yaml", "config/feeds.example.yaml", "config/fuelwarden.example.yaml",
                      "Sources/FuelService/Resources/openapi.yaml", "deploy/compose.yaml"])
    func repositoryFilesReadAsYamsReadsThem(path: String) throws {
        let text = try String(contentsOf: Self.repository.appendingPathComponent(path), encoding: .utf8)
        let ours = try #require(try YAMLNode.compose(text))
        let theirs = try #require(try Yams.compose(yaml: text, .basic))
        #expect(ours == Self.node(theirs), "\(path)")
    }

    /// Random documents written by Yams (block and flow styles, quoting as Yams chooses) read back
    /// as the tree they were written from.
    @Test func randomDocumentsRoundTripThroughYams() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            var rng = SplitMix(seed: UInt64(truncatingIfNeeded: seed))
            let tree = Self.randomMapping(&rng, depth: 0)
            let text = try Yams.serialize(node: tree, allowUnicode: rng.next() % 2 == 0)
            let ours = try #require(try YAMLNode.compose(text))
            #expect(Self.shape(ours) == Self.shape(Self.node(tree)), "\(text)")
        }
    }

    // MARK: helpers

    /// Yams' node as ours (scalar text, plain or not, structure).
    static func node(_ n: Yams.Node) -> YAMLNode {
        switch n {
        case .scalar(let s): .scalar(.init(string: s.string, isPlain: s.style == .plain))
        case .sequence(let s): .sequence(s.map(node))
        case .mapping(let m): .mapping(m.map { YAMLNode.Pair(key: node($0.key), value: node($0.value)) })
        case .alias: .scalar(.init(string: "*alias", isPlain: true))
        }
    }

    /// The tree without scalar styles (the writer picks quoting).
    indirect enum Shape: Equatable {
        case text(String), list([Shape]), map([String: Shape])
    }

    static func shape(_ n: YAMLNode) -> Shape {
        switch n {
        case .scalar(let s): .text(s.string)
        case .sequence(let items): .list(items.map(shape))
        case .mapping(let pairs): .map(Dictionary(pairs.map { ($0.key.string ?? "?", shape($0.value)) }, uniquingKeysWith: { _, b in b }))
        }
    }

    static let alphabet: [String] = ["a", "Z", "0", "9", " ", "-", ":", "#", "\"", "'", "\\", "站", "油", "é", "{", "]", ",", "&", "*", "!", "|", ">", "%", "@", "`", "\t", "~"]

    static func randomText(_ rng: inout SplitMix) -> String {
        let n = Int(rng.next() % 12)
        return (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined()
    }

    static func randomMapping(_ rng: inout SplitMix, depth: Int) -> Yams.Node {
        var pairs: [(Yams.Node, Yams.Node)] = []
        var seen = Set<String>()
        for _ in 0..<Int(1 + rng.next() % 5) {
            let key = "k" + randomText(&rng)
            guard seen.insert(key).inserted else { continue }
            pairs.append((Yams.Node(key), randomNode(&rng, depth: depth + 1)))
        }
        return .mapping(.init(pairs, .implicit, rng.next() % 3 == 0 ? .flow : .block))
    }

    static func randomNode(_ rng: inout SplitMix, depth: Int) -> Yams.Node {
        switch depth >= 3 ? 0 : rng.next() % 4 {
        case 1: return .sequence(.init((0..<Int(rng.next() % 4)).map { _ in randomNode(&rng, depth: depth + 1) }, .implicit,
                                       rng.next() % 3 == 0 ? .flow : .block))
        case 2: return randomMapping(&rng, depth: depth)
        default: return Yams.Node(randomText(&rng))
        }
    }

    /// A small seeded generator (SplitMix64), so a failing case replays from its seed.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
