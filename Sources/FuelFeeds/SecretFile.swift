#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FuelModel
import Glibc

/// A file that holds secrets (a station key, SM4 keys): read only when no one but its owner can
/// read it, as ssh does with a private key.
public enum SecretFile {
    /// Why a secret file cannot be used; the message names the file, never its content.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The file's text, or a problem: missing, unreadable, or readable by group or others.
    /// - Parameter holds: what it holds, for the message ("the station key", "SM4 keys").
    public static func read(_ path: String, holds: String) throws(Problem) -> String {
        var status = stat()
        guard stat(path, &status) == 0 else { throw Problem(description: "cannot read \(path)") }
        let mode = Int(status.st_mode)
        if mode & 0o077 != 0 {
            throw Problem(description: "\(path) is readable by others (mode \(PlainFormat.octal(mode & 0o777))): it holds \(holds), make it 0600 (chmod 600 \(path))")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw Problem(description: "cannot read \(path)") }
        return text
    }
}
