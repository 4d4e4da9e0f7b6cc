import ArgumentParser
import PotluckCrypto
import Foundation
import Node
import Records
import Trust

/// `potluck trust PEER`: how much this node trusts PEER, from the receipts it knows, and why
/// (`spec/0012-trust.md`).
struct TrustCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust", abstract: "Print this node's trust in PEER, computed from the receipts it knows.",
        discussion: """
            Modes: flow (default; personal, BarterCast/NetFlow max-flow over paths of at most 2 hops), \
            favors (OurGrid's Network of Favors balance), eigentrust (global EigenTrust, a baseline).
            """)

    enum Mode: String, ExpressibleByArgument, CaseIterable { case flow, favors, eigentrust }

    @OptionGroup var data: DataDirectoryOptions
    @Argument(help: "The peer (peer id or 64 hex digits).") var peer: String
    @Option(help: "flow, favors or eigentrust.") var mode: Mode = .flow
    @Option(name: .customLong("half-life"), help: "Let old work fade with this half-life (e.g. 30d, 12h).") var halfLife: String?
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Show the flows and receipts behind the score.") var explain = false

    func run() async throws {
        let subject = try parsePeer(peer)
        let asker: PublicKey
        do { asker = try IdentityFile.load(from: data.directory.identityPath).publicKey } catch { throw CLIError(error.description) }
        var halfLifeSeconds: Double?
        if let halfLife {
            guard let duration = Quantities.duration(halfLife), duration > .zero else {
                throw CLIError("'\(halfLife)' is not a duration: use e.g. 30d, 12h or 90m")
            }
            halfLifeSeconds = Double(duration.components.seconds)
        }
        let ledger = try withReceiptStore(data) { try $0.ledger() }
        let snapshot = WorkGraph(ledger: ledger).snapshot(now: Int64(Date().timeIntervalSince1970 * 1000), halfLifeSeconds: halfLifeSeconds)
        let score: Double
        switch mode {
        case .flow: score = snapshot.flowScore(of: subject, asSeenBy: asker).score
        case .favors: score = snapshot.favorBalance(of: subject, asSeenBy: asker).balance
        case .eigentrust: score = snapshot.eigenTrust(EigenTrustConfiguration(preTrusted: [asker])).score(of: subject)
        }
        let why = snapshot.explain(subject, asSeenBy: asker)
        if json {
            try printJSON(TrustOutput(peer: subject.peerID, mode: mode.rawValue, score: score, explanation: explain ? .init(why) : nil))
            return
        }
        print("trust in \(subject.peerID) (\(mode.rawValue)): \(String(format: "%.4f", score))")
        if explain {
            print(String(format: "  work it gave that reached you: %.1f core-s; you gave it: %.1f core-s", why.flow.given, why.flow.received))
            print(String(format: "  direct: it gave you %.1f core-s, you gave it %.1f core-s (%d receipts)",
                         why.direct.given, why.direct.received, why.directReceipts))
            for via in why.intermediaries {
                print(String(format: "  via %@: %.1f core-s carried", via.peer.peerID, via.carried))
            }
            print("  receipts involving it: \(why.subjectReceipts); receipts known: \(why.knownReceipts)")
        }
    }
}

struct TrustOutput: Encodable {
    struct Explanation: Encodable {
        let given_core_seconds, received_core_seconds, direct_given, direct_received: Double
        let direct_receipts, subject_receipts, known_receipts: Int
        let intermediaries: [[String: Double]]

        init(_ why: TrustExplanation) {
            given_core_seconds = why.flow.given
            received_core_seconds = why.flow.received
            direct_given = why.direct.given
            direct_received = why.direct.received
            direct_receipts = why.directReceipts
            subject_receipts = why.subjectReceipts
            known_receipts = why.knownReceipts
            intermediaries = why.intermediaries.map { [$0.peer.peerID: $0.carried] }
        }
    }

    let peer: String
    let mode: String
    let score: Double
    let explanation: Explanation?
}
