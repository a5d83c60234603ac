import FuelModel
import FuelWire

/// What the HJ 212 listener keeps per device besides its records: its SM4 keys over time (the
/// key in force, the previous one during its overlap, one on offer; CN 1014 changes) and when it
/// was last heard. The cloud keeps them in PostgreSQL (`HJ212DeviceBook` in FuelService, with the
/// devices' offline alerts); the station agent in its spool (`AgentHJ212Devices`).
public protocol HJ212DeviceKeeping: Sendable {
    /// Reads the stored keys; the listener waits for it before it listens.
    func load() async throws
    /// Keys that may decrypt `mn`'s packets now, the one in force first.
    func usableKeys(_ mn: String) -> [[UInt8]]
    /// The key in force for `mn`.
    func currentKey(_ mn: String) -> [UInt8]?
    /// `mn` encrypted with `key` (a key on offer comes into force by being used).
    func used(_ key: [UInt8], by mn: String) async
    /// Stores `key` as `mn`'s key in force; answers whether it was stored (the device is answered only then).
    func adopt(_ key: [UInt8], for mn: String, origin: HJ212KeyRing.Origin, reason: String) async -> Bool
    /// A new key to give `mn` (CN 1014) when its key in force is due for rotation.
    func offerIfDue(_ mn: String) async -> (qn: String, key: [UInt8])?
    /// The device answered a command (9011/9012): a key on offer comes into force on ExeRtn=1.
    func answered(_ packet: HJ212.Packet) async
    /// A connection of `mn` was authenticated.
    func connected(_ mn: String) async
    /// A packet of `mn` arrived (an upload: its CN, newest data time and whether it was a resend).
    func heard(_ mn: String, station: String, edition: HJ212.Version, upload: (cn: String, at: Timestamp, resent: Bool)?)
}
