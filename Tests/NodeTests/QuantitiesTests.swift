import Node
import Testing

@Suite("Sizes and durations")
struct QuantitiesTests {
    @Test(arguments: [
        ("512MiB", Int64(512 << 20)), ("4GiB", Int64(4) << 30), ("1.5GB", Int64(1_500_000_000)), ("2048", Int64(2048)),
        ("64 KiB", Int64(65536)), ("1TB", Int64(1_000_000_000_000)), ("0B", Int64(0)),
    ])
    func sizes(text: String, bytes: Int64) {
        #expect(Quantities.bytes(text) == bytes)
    }

    @Test(arguments: ["", "MiB", "-1GiB", "12XB", "1.2.3MB", "lots"])
    func badSizes(text: String) {
        #expect(Quantities.bytes(text) == nil)
    }

    @Test(arguments: [
        ("30s", Duration.seconds(30)), ("5m", .seconds(300)), ("1h30m", .seconds(5400)), ("250ms", .milliseconds(250)),
        ("2", .seconds(2)), ("1d", .seconds(86400)), ("1.5s", .milliseconds(1500)),
    ])
    func durations(text: String, duration: Duration) {
        #expect(Quantities.duration(text) == duration)
    }

    @Test(arguments: ["", "s", "10x", "-5s", "5s3", "1h-2m"])
    func badDurations(text: String) {
        #expect(Quantities.duration(text) == nil)
    }
}
