import Foundation
@testable import Simulator
import Testing

/// Plot axes (issue 17): ticks at round numbers, gridlines, and the unmeasured stretches shaded.
@Suite struct SVGPlotTests {
    @Test func ticksFallOnRoundNumbersAroundTheData() {
        #expect(SVGPlot.niceTicks(0...47, 6) == [0, 10, 20, 30, 40, 50])
        #expect(SVGPlot.niceTicks(0...1, 6) == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(SVGPlot.niceTicks(13...1_333, 6) == [0, 500, 1000, 1500])
        #expect(SVGPlot.niceTicks(0.003...0.0071, 6) == [0.003, 0.004, 0.005, 0.006, 0.007, 0.008])
        #expect(SVGPlot.niceTicks(-0.5...7.5, nil) == [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8], "bars: every integer")
        #expect(SVGPlot.niceTicks(5...5, 6) == [5])
    }

    @Test func theAxisWidensToItsTicksAndShadedStretchesAreDrawn() {
        var plot = SVGPlot(title: "t", xLabel: "time (s)", yLabel: "hosts", points: [(x: 0, y: 3), (x: 400, y: 47)])
        plot.shaded = [(0...120, "warm-up"), (360...390, "drain")]
        let svg = plot.svg
        #expect(svg.contains(">50</text>"), "the y axis reaches the tick above 47")
        #expect(svg.contains(">warm-up</text>") && svg.contains(">drain</text>"))
        #expect(svg.components(separatedBy: "fill=\"#eee\"").count == 3, "two shaded stretches")
        #expect(svg.contains(">100</text>") && svg.contains(">400</text>"), "x ticks every 100 s")
    }
}
