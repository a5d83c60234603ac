import FuelDetect
import FuelModel
import Testing

/// An HJ 212 device's feed state on small exact cases: the interval is learnt from ordinary steps,
/// a long step leaves a gap, resent uploads inside it fill it, and the verdict follows.
@Suite struct DeviceFeedStateTests {
    static let t0 = Timestamp(seconds: 1_795_000_000)
    static func at(_ minutes: Double) -> Timestamp { t0.adding(seconds: minutes * 60) }

    @Test func aLongStepLeavesAGapThatResendsFill() {
        var f = DeviceFeedState(mn: "M", station: "S", edition: "HJ212-2025", seenAt: Self.t0)
        for m in 0..<4 { f.upload(cn: "2051", at: Self.at(Double(m)), resent: false, holeAfterSeconds: 600) }
        #expect(f.series["2051"]?.interval == 60 && f.owed == nil)
        // 08:03 → 08:20: a gap (more than 10 min and three intervals).
        f.upload(cn: "2051", at: Self.at(20), resent: false, holeAfterSeconds: 600)
        #expect(f.owed?.from == Self.at(3) && f.owed?.to == Self.at(20))
        // Another kind of upload (hourly) has its own interval: its steps are not gaps.
        f.upload(cn: "2061", at: Self.at(0), resent: false, holeAfterSeconds: 600)
        f.upload(cn: "2061", at: Self.at(60), resent: false, holeAfterSeconds: 600)
        f.upload(cn: "2061", at: Self.at(120), resent: false, holeAfterSeconds: 600)
        #expect(f.series["2061"]?.gapTo == nil)
        // Resends outside the gap do nothing; inside it they fill it up to their time.
        let outside = f.upload(cn: "2051", at: Self.at(30), resent: true, holeAfterSeconds: 600)
        let part = f.upload(cn: "2051", at: Self.at(10), resent: true, holeAfterSeconds: 600)
        #expect(!outside && !part && f.owed != nil)
        let last = f.upload(cn: "2051", at: Self.at(19), resent: true, holeAfterSeconds: 600)
        #expect(last)
        #expect(f.owed == nil && f.resent == 3)
    }

    @Test func aSecondOutageBeforeTheResendExtendsWhatIsOwed() {
        var f = DeviceFeedState(mn: "M", station: "S", edition: "HJ212-2025", seenAt: Self.t0)
        for m in [0.0, 1, 2, 20, 21, 40] { f.upload(cn: "2051", at: Self.at(m), resent: false, holeAfterSeconds: 600) }
        #expect(f.owed?.from == Self.at(2) && f.owed?.to == Self.at(40))
        // A reordered older live upload moves nothing.
        f.upload(cn: "2051", at: Self.at(5), resent: false, holeAfterSeconds: 600)
        #expect(f.series["2051"]?.last == Self.at(40))
    }

    @Test func theVerdictFollowsSilenceAndWhatIsOwed() {
        var f = DeviceFeedState(mn: "M", station: "S", edition: "HJ212-2025", seenAt: Self.t0)
        f.heard(at: Self.t0, edition: "HJ212-2025")
        #expect(f.verdict(now: Self.at(5), offlineAfterSeconds: 600, openAlert: false) == .none)
        #expect(f.verdict(now: Self.at(11), offlineAfterSeconds: 600, openAlert: false) == .offline(silentSeconds: 660))
        #expect(f.verdict(now: Self.at(5), offlineAfterSeconds: 600, openAlert: true) == .resolve(filled: false))
        for m in [0.0, 1, 2, 30] { f.upload(cn: "2011", at: Self.at(m), resent: false, holeAfterSeconds: 600) }
        f.heard(at: Self.at(31), edition: "HJ212-2025")
        #expect(f.verdict(now: Self.at(32), offlineAfterSeconds: 600, openAlert: true) == .owes(from: Self.at(2), to: Self.at(30)))
        f.upload(cn: "2011", at: Self.at(29), resent: true, holeAfterSeconds: 600)
        #expect(f.verdict(now: Self.at(32), offlineAfterSeconds: 600, openAlert: true) == .resolve(filled: true))
    }
}
