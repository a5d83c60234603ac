import CYAML

/// A composed YAML node: what the registry, feeds, key and agent files are read from. Scalars keep
/// their text and whether they were written plain (unquoted), nothing more: the readers decide what
/// a value means (a number, a date, a boolean) and name the field when it is wrong.
///
/// Parsed by libyaml (a kept C library, Debian `libyaml-dev`); this file only turns its events into
/// nodes. Yams did both before, but it imports the full Foundation and with it ICU, which the
/// station agent is built without (≈ 8 MB of its resident memory; issue 16).
public indirect enum YAMLNode: Hashable, Sendable {
    case scalar(Scalar)
    case sequence([YAMLNode])
    /// Keys and values in the file's order (a key written twice keeps both; readers take the last).
    case mapping([Pair])

    public struct Scalar: Hashable, Sendable {
        public var string: String
        /// Written without quotes or block indicators (so `~`, `null` and the empty value mean nothing).
        public var isPlain: Bool

        public init(string: String, isPlain: Bool) {
            self.string = string
            self.isPlain = isPlain
        }
    }

    public struct Pair: Hashable, Sendable {
        public var key: YAMLNode
        public var value: YAMLNode

        public init(key: YAMLNode, value: YAMLNode) {
            self.key = key
            self.value = value
        }
    }

    /// The scalar's text; nil for a sequence or a mapping.
    public var string: String? {
        if case .scalar(let s) = self { return s.string }
        return nil
    }

    /// The value under a scalar key of a mapping (the last when written twice).
    public subscript(key: String) -> YAMLNode? {
        guard case .mapping(let pairs) = self else { return nil }
        return pairs.last { $0.key.string == key }?.value
    }

    /// The first document of `text` composed into nodes; nil when the text holds no document.
    /// Anchors and aliases are resolved; a second document is an error, and so is a document that
    /// nests deeper than ``maxDepth`` or whose aliases expand it beyond ``maxExpandedNodes`` nodes
    /// (a "billion laughs" file would otherwise cost its reader exponential time).
    public static func compose(_ text: String) throws(YAMLSyntaxError) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw YAMLSyntaxError(problem: "libyaml could not start (out of memory)", line: 0, column: 0) }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { (buffer) throws(YAMLSyntaxError) -> YAMLNode? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var composer = Composer()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let problem = parser.problem.map { String(cString: $0) } ?? "not valid YAML"
                    let context = parser.context.map { String(cString: $0) + ": " } ?? ""
                    throw YAMLSyntaxError(problem: context + problem, line: parser.problem_mark.line + 1, column: parser.problem_mark.column + 1)
                }
                defer { yaml_event_delete(&event) }
                if try composer.take(event) { return composer.root }
            }
        }
    }

    /// Collections nested deeper than this are refused.
    public static let maxDepth = 256
    /// Documents that hold more nodes than this, counting every alias as the nodes it stands for, are refused.
    public static let maxExpandedNodes = 1_000_000

    /// Builds nodes from parser events: a stack of open collections (each with the nodes it holds
    /// so far, aliases expanded) and the anchors seen.
    private struct Composer {
        enum Open {
            case sequence([YAMLNode], anchor: String?, weight: Int)
            case mapping([Pair], pendingKey: YAMLNode?, anchor: String?, weight: Int)
        }
        var stack: [Open] = []
        var anchors: [String: (node: YAMLNode, weight: Int)] = [:]
        var root: YAMLNode?
        var documents = 0

        /// Takes one event; true when the stream has ended.
        mutating func take(_ event: yaml_event_t) throws(YAMLSyntaxError) -> Bool {
            let line = event.start_mark.line + 1, column = event.start_mark.column + 1
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return true
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                guard documents == 1 else { throw YAMLSyntaxError(problem: "more than one document", line: line, column: column) }
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                let text = s.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: s.length), as: UTF8.self) } ?? ""
                try add(.scalar(Scalar(string: text, isPlain: s.style == YAML_PLAIN_SCALAR_STYLE)), weight: 1, anchor: Self.text(s.anchor), line, column)
            case YAML_ALIAS_EVENT:
                let name = Self.text(event.data.alias.anchor) ?? ""
                guard let (node, weight) = anchors[name] else { throw YAMLSyntaxError(problem: "unknown alias *\(name)", line: line, column: column) }
                try add(node, weight: weight, anchor: nil, line, column)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                guard stack.count < YAMLNode.maxDepth else {
                    throw YAMLSyntaxError(problem: "nested deeper than \(YAMLNode.maxDepth) levels", line: line, column: column)
                }
                stack.append(event.type == YAML_SEQUENCE_START_EVENT
                    ? .sequence([], anchor: Self.text(event.data.sequence_start.anchor), weight: 1)
                    : .mapping([], pendingKey: nil, anchor: Self.text(event.data.mapping_start.anchor), weight: 1))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                switch stack.popLast() {
                case .sequence(let items, let anchor, let weight)?: try add(.sequence(items), weight: weight, anchor: anchor, line, column)
                case .mapping(let pairs, nil, let anchor, let weight)?: try add(.mapping(pairs), weight: weight, anchor: anchor, line, column)
                default: throw YAMLSyntaxError(problem: "a collection ends that was not open", line: line, column: column)
                }
            default:
                break  // stream start, document end: nothing to build
            }
            return false
        }

        /// Adds a finished node (holding `weight` nodes, aliases expanded) to the collection open around it.
        private mutating func add(_ node: YAMLNode, weight: Int, anchor: String?, _ line: Int, _ column: Int) throws(YAMLSyntaxError) {
            if let anchor { anchors[anchor] = (node, weight) }
            func heavier(_ w: Int) throws(YAMLSyntaxError) -> Int {
                let total = w + weight
                guard total <= YAMLNode.maxExpandedNodes else {
                    throw YAMLSyntaxError(problem: "its aliases expand it beyond \(YAMLNode.maxExpandedNodes) nodes", line: line, column: column)
                }
                return total
            }
            switch stack.popLast() {
            case nil:
                root = node
            case .sequence(var items, let a, let w)?:
                items.append(node)
                stack.append(.sequence(items, anchor: a, weight: try heavier(w)))
            case .mapping(var pairs, let key?, let a, let w)?:
                pairs.append(Pair(key: key, value: node))
                stack.append(.mapping(pairs, pendingKey: nil, anchor: a, weight: try heavier(w)))
            case .mapping(let pairs, nil, let a, let w)?:
                stack.append(.mapping(pairs, pendingKey: node, anchor: a, weight: try heavier(w)))
            }
        }

        private static func text(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        }
    }
}

/// Text that is not YAML: libyaml's problem and where (1-based line and column).
public struct YAMLSyntaxError: Error, CustomStringConvertible, Sendable {
    public var problem: String
    public var line: Int
    public var column: Int
    public var description: String { line > 0 ? "\(problem) at line \(line), column \(column)" : problem }
}
