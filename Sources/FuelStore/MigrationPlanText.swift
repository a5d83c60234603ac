/// `fuelwarden migrate --plan`: what would be applied, how, and whether the replicas running now
/// (a build at the schema's current version) keep serving once it is.
public enum MigrationPlanText {
    public static func render(_ plan: (status: Migrator.Status, pending: [Migration])) -> String {
        let (status, pending) = plan
        var lines = ["schema at \(status.schemaVersion); this build ships \(status.latest)"]
        guard !pending.isEmpty else {
            lines.append("nothing to apply")
            return lines.joined(separator: "\n")
        }
        lines.append("would apply:")
        for m in pending {
            let kind = m.isCompatible ? "expand (the build before runs on it)" : "contract (the build before does not run on it)"
            lines.append("  \(m.name)  \(kind)\(m.isTransactional ? "" : ", statement by statement outside a transaction")")
        }
        guard !status.applied.isEmpty else {
            lines.append("the database is empty: no replica can be running on it")
            return lines.joined(separator: "\n")
        }
        // Replicas at the current schema's version stay ready if every pending migration is an expand step.
        let breaking = pending.filter { !$0.isCompatible && $0.version > status.schemaVersion }
        if breaking.isEmpty {
            lines.append("running replicas of build \(status.schemaVersion) stay ready: yes (replace them one at a time after migrating)")
        } else {
            lines.append("running replicas of build \(status.schemaVersion) stay ready: NO — \(breaking.map(\.name).joined(separator: ", ")) "
                         + "is a contract step; replace every replica with this build before applying it, or split it into expand now and contract later")
        }
        return lines.joined(separator: "\n")
    }
}
