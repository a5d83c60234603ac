import Foundation

/// Reads a file a megabyte at a time and hands out its lines (without the newline), with every
/// chunk as read (for a running digest). `each` answers false to stop early.
enum FileLines {
    static func read(_ path: String, chunks: (Data) -> Void = { _ in }, _ each: (ArraySlice<UInt8>) -> Bool) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path]) }
        defer { try? handle.close() }
        var pending: [UInt8] = []
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunks(chunk)
            pending.append(contentsOf: chunk)
            var start = 0
            while let nl = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                if nl > start, !each(pending[start..<nl]) { return }
                start = nl + 1
            }
            pending.removeFirst(start)
        }
        if !pending.isEmpty { _ = each(pending[...]) }
    }
}
