#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How a bench or fault test starts the station agent: the standalone `fuelwarden-agent` when it
/// was built beside this executable (the binary a station runs, built without the full Foundation),
/// else `fuelwarden agent`, the same agent inside the daemon's binary.
package struct AgentExecutable: Sendable {
    package var path: String
    /// Arguments before the agent's own (`agent` for the daemon's binary).
    package var prefix: [String]
    package var isStandalone: Bool { prefix.isEmpty }

    /// The agent beside `executable` (default: this process's binary).
    package static func beside(_ executable: String = DaemonProcess.currentExecutable) -> AgentExecutable {
        let slash = executable.lastIndex(of: "/")
        let standalone = (slash.map { String(executable[...$0]) } ?? "") + "fuelwarden-agent"
        return FileManager.default.isExecutableFile(atPath: standalone)
            ? AgentExecutable(path: standalone, prefix: [])
            : AgentExecutable(path: executable, prefix: ["agent"])
    }

    /// What a log line calls it.
    package var name: String { isStandalone ? "fuelwarden-agent" : "fuelwarden agent" }
}
