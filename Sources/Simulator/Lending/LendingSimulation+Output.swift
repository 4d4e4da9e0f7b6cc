// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Lending

extension LendingSimulation {
    /// The time series as CSV (one row per sample interval, `spec/0018` §5).
    public var seriesCSV: String {
        ([LendingSample.csvHeader] + series.map(\.csvRow)).joined(separator: "\n") + "\n"
    }

    /// The plots of a run: median wait over time per class, and the requests pending.
    public var plots: [(name: String, plot: SVGPlot)] {
        let present = PeerClass.allCases.filter { metrics.classes[Int($0.rawValue)].peers > 0 }
        let curves = present.map { peerClass in
            (label: peerClass.name, points: series.compactMap { sample in
                sample.medianWait[Int(peerClass.rawValue)].map { (x: sample.time, y: $0) }
            })
        }
        var waits = SVGPlot(title: "Median wait per class (\(scenario.name), order \(lending.order.rawValue))",
                            xLabel: "time (s)", yLabel: "wait of jobs started (s)", points: curves.first?.points ?? [])
        waits.seriesLabel = curves.first?.label ?? ""
        waits.more = Array(curves.dropFirst())
        var queues = SVGPlot(title: "Requests pending and waiting in lines (\(scenario.name))", xLabel: "time (s)",
                             yLabel: "jobs", points: series.map { (x: $0.time, y: Double($0.pending)) })
        queues.seriesLabel = "pending (unmatched)"
        queues.more = [("waiting in lines", series.map { (x: $0.time, y: Double($0.waitingInLines)) }),
                       ("running", series.map { (x: $0.time, y: Double($0.running)) })]
        return [("wait-over-time.svg", waits), ("queues-over-time.svg", queues)]
    }
}
