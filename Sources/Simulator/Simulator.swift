/// The discrete-event simulator (issue 4): the same `DHTNode` state machines as `potluck node`,
/// driven by a virtual clock over a modelled network. See `spec/0010-simulator.md`.
public enum SimulatorInfo {
    public static let version = "0.1.0"
}
