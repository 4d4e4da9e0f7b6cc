import PotluckCrypto
import Foundation
import Node
import Synchronization

/// The progress line of `potluck run` on stderr: redrawn in place on a terminal, one line per
/// change of state otherwise. The guest's own stderr passes through as it comes.
final class ProgressLine: Sendable {
    private struct State {
        var started: [PublicKey: Date] = [:]
        var drawn = false
    }

    private let enabled: Bool
    private let terminal = isatty(STDERR_FILENO) == 1
    private let state = Mutex(State())

    init(enabled: Bool) { self.enabled = enabled }

    func handle(_ event: JobClient.Event, from lender: PublicKey) {
        switch event {
        case .connected: show(lender, "connected (encrypted, authenticated)")
        case .sendingInputs(let sent, let total):
            show(lender, String(format: "sending inputs: %.1f of %.1f MB", Double(sent) / 1e6, Double(total) / 1e6))
        case .receivingOutputs(let received, let total):
            show(lender, String(format: "receiving outputs: %.1f of %.1f MB", Double(received) / 1e6, Double(total) / 1e6))
        case .queued(let position): show(lender, "waiting in line, position \(position)", permanent: true)
        case .started:
            state.withLock { $0.started[lender] = Date() }
            show(lender, "running", permanent: true)
        case .paused(true): show(lender, "paused: its owner is using the machine", permanent: true)
        case .paused(false): show(lender, "running again", permanent: true)
        case .stderr(let bytes): passThrough(bytes)
        case .usage(let fuel, let cpu):
            let since = state.withLock { $0.started[lender] } ?? Date()
            show(lender, String(format: "running %.1f s, cpu %.1f s, %.2f G fuel", Date().timeIntervalSince(since),
                                Double(cpu) / 1000, Double(fuel) / 1e9))
        }
    }

    /// A state line for `lender`; on a terminal it is redrawn in place unless `permanent`.
    func show(_ lender: PublicKey, _ text: String, permanent: Bool = false) {
        guard enabled else { return }
        let line = "potluck: [\(lender.peerID.prefix(12))…] \(text)"
        if terminal {
            write("\r\u{1B}[K" + line + (permanent ? "\n" : ""))
            state.withLock { $0.drawn = !permanent }
        } else if permanent {
            write(line + "\n")
        }
    }

    /// A line that stays.
    func note(_ text: String) {
        guard enabled else { return }
        clear()
        write("potluck: \(text)\n")
    }

    func finish() { clear() }

    private func passThrough(_ bytes: [UInt8]) {
        clear()
        FileHandle.standardError.write(Data(bytes))
    }

    private func clear() {
        let drawn = state.withLock { state in
            defer { state.drawn = false }
            return state.drawn
        }
        if drawn { write("\r\u{1B}[K") }
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
