import FuelModel

/// The HJ 212 key file (`feeds.hj212.key_file`): SM4 keys per device, kept out of the feeds file so
/// the operator can hold them apart (mode 0600, its own backup). Each device lists its keys with the
/// time each came into force; the newest is in force, the one before it stays usable for the
/// overlap (`feeds.hj212.key_overlap_hours`).
///
/// ```yaml
/// devices:
///   010000A8900016F000169DC0:
///     - key: 0123456789abcdeffedcba9876543210
///       since: 2026-09-01T00:00:00+08:00
/// ```
public enum HJ212KeyFile {
    /// Reads a key file; errors name the device and the field but never repeat a key.
    public static func decode(yaml text: String) throws(FieldError) -> [String: [HJ212KeyRing.Key]] {
        let root: YAMLNode
        do {
            guard let n = try YAMLNode.compose(text) else { return [:] }
            root = n
        } catch {
            throw FieldError("keys", "not valid YAML (line and column in the message): \(String(describing: error).prefix(120))")
        }
        let top = try YAMLEntry(node: root, path: "keys").mapping()
        guard let devices = try top.optionalMapping("devices") else { return [:] }
        var out: [String: [HJ212KeyRing.Key]] = [:]
        for mn in devices.keys {
            guard let node = devices.values[mn] else { continue }
            let list: [YAMLEntry]
            if case .sequence(let seq) = node {
                list = seq.map { YAMLEntry(node: $0, path: "devices.\(mn)") }
            } else {
                throw devices.error(mn, "expected a list of {key, since}")
            }
            var keys: [HJ212KeyRing.Key] = []
            for (i, e) in list.enumerated() {
                let m = try YAMLEntry(node: e.node, path: "devices.\(mn)[\(i)]").mapping()
                let keyText = try m.string("key")
                guard keyText.count == 32, let bytes = Hex.decode(keyText) else {
                    throw m.error("key", "must be 32 hexadecimal digits (16 bytes)")
                }
                let since = try m.optionalString("since").map { s throws(FieldError) -> Timestamp in
                    guard let t = Timestamp(rfc3339: s) else { throw m.error("since", "expected an RFC 3339 time, got \"\(s)\"") }
                    return t
                }
                keys.append(HJ212KeyRing.Key(bytes: bytes, since: since, origin: .keyFile))
            }
            out[mn] = keys
        }
        return out
    }
}
