import Foundation
import FuelPostgresFixture
import Glibc
import Testing

/// The child processes the test cluster and the laboratory start: exit statuses, output, a bounded
/// graceful stop and a timeout that kills.
@Suite struct SpawnedProcessTests {
    @Test func exitStatusOutputAndErrorsApart() throws {
        let (status, output) = try SpawnedProcess.capture(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], mergingErrors: false)
        #expect(status == 3)
        #expect(String(decoding: output, as: UTF8.self) == "out\n")
        let merged = try SpawnedProcess.capture(["/bin/sh", "-c", "echo out; echo err >&2"])
        #expect(merged.status == 0)
        #expect(String(decoding: merged.output, as: UTF8.self).split(separator: "\n").sorted() == ["err", "out"])
    }

    @Test func environmentIsPassedAndOutputAppended() throws {
        let file = NSTemporaryDirectory() + "spawned-\(UUID()).log"
        defer { try? FileManager.default.removeItem(atPath: file) }
        for word in ["one", "two"] {
            let p = try SpawnedProcess(["/bin/sh", "-c", "echo $WORD"], environment: ["WORD": word], output: file)
            #expect(p.wait() == 0)
        }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "one\ntwo\n")
    }

    @Test func gracefulStopAndKillAfterTheGracePeriod() throws {
        let polite = try SpawnedProcess(["/bin/sleep", "30"], output: "/dev/null")
        #expect(polite.isRunning)
        #expect(polite.terminate(graceSeconds: 10))
        #expect(polite.status == 128 + SIGTERM)
        #expect(!polite.isRunning)
        // A process that ignores SIGTERM is killed once the grace period is over.
        let stubborn = try SpawnedProcess(["/bin/sh", "-c", "trap '' TERM; sleep 30 & wait; sleep 30"], output: "/dev/null")
        usleep(200_000)
        #expect(!stubborn.terminate(graceSeconds: 0.5))
        #expect(stubborn.status == 128 + SIGKILL)
    }

    @Test func aRunPastItsTimeoutIsKilled() throws {
        let status = try SpawnedProcess.run(["/bin/sleep", "30"], output: "/dev/null", timeoutSeconds: 0.3)
        #expect(status == 128 + SIGKILL)
        #expect(throws: SpawnError.self) { try SpawnedProcess(["/nonexistent/tool"], output: "/dev/null") }
    }
}
