import FuelLedger

/// Where the records of archived months are read back from (the archive's files): what an
/// inclusion proof of an archived record, or of any record of a station with archived months
/// (the records tree spans the whole chain), needs that the database no longer has.
public protocol ArchivedChainSource: Sendable {
    /// The link hashes of `station`'s records 1…`through`, in order.
    func linkHashes(station: String, through: Int64) throws -> [Digest32]
    /// Archived record `seq` of `station`: its canonical body, the hash it links to and its hash.
    func record(station: String, seq: Int64) throws -> (body: String, previous: Digest32, hash: Digest32)?
}
