/// Litres as a detector's state keeps them: to the millilitre.
///
/// A sale's volume at 20 °C is its metered litres (to the centilitre) times a volume correction
/// factor, a double with seventeen significant digits; every pending sale, running sum and split
/// of one was stored that way, ~12 bytes more per figure than its information — on a busy station
/// a tenth of the 32 KB state budget (issue 13). A millilitre is far below any rule's resolution (the
/// smallest, a 2 % short-fill of a 1-litre sale, is 20 mL). Rounded where the figure is made, so
/// the state in memory is the state after a restart.
enum StoredLitres {
    static func rounded(_ litres: Double) -> Double { (litres * 1000).rounded() / 1000 }
}
