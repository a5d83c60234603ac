import FuelLab

/// The station agent (`fuelwarden-agent run` when built, else `fuelwarden agent run`) as a process
/// of its own, so a fault test can kill it with SIGKILL.
package final class AgentProcess: Sendable {
    let child: ChildProcess
    package let agent: AgentExecutable

    package init(executable: String, configPath: String, logPath: String) {
        agent = AgentExecutable.beside(executable)
        child = ChildProcess(executable: agent.path, arguments: agent.prefix + ["run", "--config", configPath, "--log-level", "warning"],
                             logPath: logPath)
    }

    package var pid: Int32? { child.pid }
    package func start(environment: [String: String] = [:]) throws { try child.start(environment: environment) }
    package func waitForExit(seconds: Double) -> Int32? { child.waitForExit(seconds: seconds) }
    /// SIGKILL: no shutdown, a spool write or an upload cut wherever it is.
    package func kill9() { child.kill9() }
    /// SIGTERM (SIGKILL after `graceSeconds`); answers whether the agent exited on its own.
    @discardableResult
    package func stop(graceSeconds: Double = 30) -> Bool { child.stop(graceSeconds: graceSeconds) }
}
