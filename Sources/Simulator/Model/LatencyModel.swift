// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// How long a datagram takes from one host to another, before jitter (`spec/0010` §3).
public enum LatencyModel: Sendable, Hashable {
    /// Every pair of hosts is this many milliseconds apart.
    case constant(milliseconds: Double)
    /// Hosts are placed uniformly at random in the unit square; one-way latency is
    /// `base + scale · distance` milliseconds (distance in [0, √2]).
    case geometric(baseMilliseconds: Double, scaleMilliseconds: Double)
    /// Each host is placed at one of the 1740 Internet hosts of the King data set (chosen
    /// uniformly at random), as Vivaldi 2-D + height coordinates (`KingCoordinates`); the
    /// predicted round-trip time is `‖xᵢ − xⱼ‖ + hᵢ + hⱼ` ms, and one-way latency is
    /// `oneWayFraction` of it (0.5: half the round trip), plus `base` ms.
    case king(baseMilliseconds: Double, oneWayFraction: Double)
}

/// Where each host sits for the latency model: three `Float`s per host (12 bytes), computed
/// once at the start of a run.
public struct HostPlacement: Sendable {
    public let model: LatencyModel
    private var x: [Float] = []
    private var y: [Float] = []
    private var height: [Float] = []

    /// Places `count` hosts, drawing from `random` (no draws for the constant model).
    public init(model: LatencyModel, count: Int, king: KingCoordinates?, random: inout SimulationRandom) {
        self.model = model
        switch model {
        case .constant:
            break
        case .geometric:
            x.reserveCapacity(count)
            y.reserveCapacity(count)
            for _ in 0..<count {
                x.append(Float(random.unit()))
                y.append(Float(random.unit()))
            }
        case .king:
            let data = king ?? KingCoordinates.empty
            precondition(!data.hosts.isEmpty, "the King latency model needs its coordinates")
            x.reserveCapacity(count)
            y.reserveCapacity(count)
            height.reserveCapacity(count)
            for _ in 0..<count {
                let host = data.hosts[random.below(data.hosts.count)]
                x.append(host.x)
                y.append(host.y)
                height.append(host.height)
            }
        }
    }

    /// Where host `host` sits as a Vivaldi coordinate `[x₁, x₂, h]` (`spec/0013-coordinates.md`),
    /// in milliseconds: `‖xᵢ − xⱼ‖ + hᵢ + hⱼ` is exactly twice the model's one-way latency, as
    /// if Vivaldi had converged without error (the lending economy's offers carry it).
    public func roundTripCoordinate(of host: Int) -> [Double] {
        switch model {
        case .constant(let value):
            return [0, 0, value]
        case .geometric(let base, let scale):
            return [2 * scale * Double(x[host]), 2 * scale * Double(y[host]), base]
        case .king(let base, let fraction):
            return [2 * fraction * Double(x[host]), 2 * fraction * Double(y[host]), base + 2 * fraction * Double(height[host])]
        }
    }

    /// The one-way latency from host `a` to host `b`, in nanoseconds.
    @inline(__always)
    public func latency(from a: Int, to b: Int) -> UInt64 {
        let milliseconds: Double
        switch model {
        case .constant(let value):
            milliseconds = value
        case .geometric(let base, let scale):
            let dx = x[a] - x[b], dy = y[a] - y[b]
            milliseconds = base + scale * Double((dx * dx + dy * dy).squareRoot())
        case .king(let base, let fraction):
            let dx = x[a] - x[b], dy = y[a] - y[b]
            let rtt = Double((dx * dx + dy * dy).squareRoot() + height[a] + height[b])
            milliseconds = base + fraction * rtt
        }
        return UInt64(max(0, milliseconds) * 1_000_000)
    }
}
