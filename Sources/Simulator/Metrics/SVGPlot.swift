// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation

/// A minimal SVG chart writer: one series as a line or as bars, with labelled axes and ticks,
/// readable in any browser. No dependencies, deterministic output.
public struct SVGPlot: Sendable {
    public enum Style: Sendable { case line, bars }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var points: [(x: Double, y: Double)]
    public var style: Style
    public var yRange: ClosedRange<Double>?
    /// More line series drawn over the first, each with its label; with any, a legend names
    /// them all (the first as ``seriesLabel``).
    public var more: [(label: String, points: [(x: Double, y: Double)])] = []
    public var seriesLabel = ""
    /// Stretches of the x axis shaded grey with a label, such as a run's warm-up and drain, whose
    /// figures the report leaves out.
    public var shaded: [(range: ClosedRange<Double>, label: String)] = []

    public init(title: String, xLabel: String, yLabel: String, points: [(x: Double, y: Double)], style: Style = .line,
                yRange: ClosedRange<Double>? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.points = points
        self.style = style
        self.yRange = yRange
    }

    public var svg: String {
        let width = 640.0, height = 400.0, left = 70.0, right = 20.0, top = 40.0, bottom = 50.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let all = points + more.flatMap(\.points)
        let xs = all.map(\.x), ys = all.map(\.y)
        var xMin = xs.min() ?? 0, xMax = xs.max() ?? 1
        if style == .bars { xMin -= 0.5; xMax += 0.5 }
        if xMax <= xMin { xMax = xMin + 1 }
        var yMin = yRange?.lowerBound ?? min(0, ys.min() ?? 0)
        var yMax = yRange?.upperBound ?? (ys.max() ?? 1)
        if yMax <= yMin { yMax = yMin + 1 }
        // Ticks at round numbers (1, 2 or 5 times a power of ten); an axis not fixed by the
        // caller is widened to the ticks around its data (Heckbert, Graphics Gems, 1990).
        let xTicks = Self.niceTicks(xMin...xMax, style == .bars ? nil : 6)
        let yTicks = Self.niceTicks(yMin...yMax, 6)
        if yRange == nil, let first = yTicks.first, let last = yTicks.last { yMin = min(yMin, first); yMax = max(yMax, last) }
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - (y - yMin) / (yMax - yMin) * plotHeight }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

            """
        for shade in shaded {
            let from = px(max(xMin, shade.range.lowerBound)), to = px(min(xMax, shade.range.upperBound))
            guard to > from else { continue }
            out += "<rect x=\"\(format(from, 1))\" y=\"\(top)\" width=\"\(format(to - from, 1))\" height=\"\(plotHeight)\" fill=\"#eee\"/>\n"
            out += "<text x=\"\(format((from + to) / 2, 1))\" y=\"\(top + 14)\" text-anchor=\"middle\" fill=\"#888\">\(escape(shade.label))</text>\n"
        }
        for x in (style == .bars ? xTicks.filter { $0 == $0.rounded() } : xTicks) where x >= xMin && x <= xMax {
            out += "<line x1=\"\(format(px(x), 1))\" y1=\"\(top)\" x2=\"\(format(px(x), 1))\" y2=\"\(top + plotHeight)\" stroke=\"#eee\"/>\n"
            out += "<text x=\"\(format(px(x), 1))\" y=\"\(format(top + plotHeight + 16, 1))\" text-anchor=\"middle\">\(label(x))</text>\n"
        }
        for y in yTicks where y >= yMin && y <= yMax {
            out += "<line x1=\"\(left)\" y1=\"\(format(py(y), 1))\" x2=\"\(left + plotWidth)\" y2=\"\(format(py(y), 1))\" stroke=\"#ddd\"/>\n"
            out += "<text x=\"\(format(left - 6, 1))\" y=\"\(format(py(y) + 4, 1))\" text-anchor=\"end\">\(label(y))</text>\n"
        }
        out += "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(left + plotWidth)\" y2=\"\(top + plotHeight)\" stroke=\"black\"/>\n"
        out += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotHeight)\" stroke=\"black\"/>\n"
        out += "<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        out += "<text x=\"16\" y=\"\(top + plotHeight / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(top + plotHeight / 2))\">\(escape(yLabel))</text>\n"
        switch style {
        case .line:
            let path = points.map { "\(format(px($0.x), 1)),\(format(py($0.y), 1))" }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"\(path)\"/>\n"
            out += legendAndMore(px: px, py: py, left: left + 10, top: top + 4)
        case .bars:
            let barWidth = plotWidth / (xMax - xMin) * 0.8
            for point in points {
                let x = px(point.x) - barWidth / 2, y = py(point.y)
                out += "<rect x=\"\(format(x, 1))\" y=\"\(format(y, 1))\" width=\"\(format(barWidth, 1))\" height=\"\(format(top + plotHeight - y, 1))\" fill=\"#1f77b4\"/>\n"
            }
        }
        return out + "</svg>\n"
    }

    /// The extra series and, when there are any, the legend.
    private func legendAndMore(px: (Double) -> Double, py: (Double) -> Double, left: Double, top: Double) -> String {
        guard !more.isEmpty else { return "" }
        let colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
        var out = ""
        for (index, series) in more.enumerated() {
            let path = series.points.map { "\(format(px($0.x), 1)),\(format(py($0.y), 1))" }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(colours[(index + 1) % colours.count])\" stroke-width=\"2\" points=\"\(path)\"/>\n"
        }
        for (index, name) in ([seriesLabel] + more.map(\.label)).enumerated() {
            let y = top + 14 * Double(index + 1)
            out += "<rect x=\"\(format(left, 1))\" y=\"\(format(y - 9, 1))\" width=\"10\" height=\"10\" fill=\"\(colours[index % colours.count])\"/>"
            out += "<text x=\"\(format(left + 14, 1))\" y=\"\(format(y, 1))\">\(escape(name))</text>\n"
        }
        return out
    }

    private func label(_ value: Double) -> String {
        abs(value) >= 100 || value == value.rounded() ? format(value, 0) : format(value, 2)
    }

    /// About `count` ticks over `range` at multiples of a round step (1, 2 or 5 × 10^k), from the
    /// multiple at or below its start to the one at or above its end; `nil` count: every integer.
    static func niceTicks(_ range: ClosedRange<Double>, _ count: Int?) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [range.lowerBound] }
        let step: Double
        if let count {
            let raw = span / Double(max(1, count - 1))
            let power = pow(10, (log10(raw)).rounded(.down))
            let fraction = raw / power
            step = (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power
        } else {
            step = max(1, (span / 12).rounded(.up))
        }
        let first = (range.lowerBound / step).rounded(.down), last = (range.upperBound / step).rounded(.up)
        return stride(from: first, through: last, by: 1).map { ($0 * step * 1e9).rounded() / 1e9 }
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }
}

extension Simulation {
    /// The three plots of a run: latency CDF, hops histogram, success rate over time.
    public var plots: [(name: String, plot: SVGPlot)] {
        let latencies = sortedLatencies
        let step = max(1, latencies.count / 400)
        var cdf: [(x: Double, y: Double)] = stride(from: 0, to: latencies.count, by: step).map {
            (x: latencies[$0], y: Double($0 + 1) / Double(latencies.count))
        }
        if let last = latencies.last { cdf.append((x: last, y: 1)) }
        let report = self.report()
        let hops = report.hopsHistogram.enumerated().map { (x: Double($0.offset), y: Double($0.element)) }
        let success = series.filter { $0.lookups > 0 }.map { (x: $0.time, y: $0.successRate) }
        let online = series.map { (x: $0.time, y: Double($0.online)) }
        // Joining and warm-up before the measured window, drain after it: left out of the report.
        let deployment = scenario.deployment
        let outside: [(range: ClosedRange<Double>, label: String)] = [
            (0...deployment.measureStart, "warm-up"), (deployment.measureEnd...(deployment.measureEnd + deployment.drain), "drain"),
        ]
        var successPlot = SVGPlot(title: "Exact lookups over time (\(scenario.name))", xLabel: "time (s)",
                                  yLabel: "success rate", points: success, yRange: 0...1)
        successPlot.shaded = outside
        var onlinePlot = SVGPlot(title: "Online hosts (\(scenario.name))", xLabel: "time (s)", yLabel: "hosts online", points: online)
        onlinePlot.shaded = outside
        return [
            ("latency-cdf.svg", SVGPlot(title: "Lookup latency CDF (\(scenario.name))", xLabel: "latency (ms)",
                                        yLabel: "fraction of lookups", points: cdf, yRange: 0...1)),
            ("hops.svg", SVGPlot(title: "Lookup hops (\(scenario.name))", xLabel: "hops", yLabel: "lookups",
                                 points: hops, style: .bars)),
            ("success-over-time.svg", successPlot),
            ("online-over-time.svg", onlinePlot),
        ]
    }
}
