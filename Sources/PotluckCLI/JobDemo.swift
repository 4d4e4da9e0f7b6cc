import ControlAPI
import PotluckCrypto
import ExampleJobs
import Foundation
import Jobs
import Kademlia
import Logging
import Node
import Records
import Sandbox
import ServiceLifecycle
import Storage
import Trust

/// The lending demo of `potluck demo` (README's main job): a small Potluck network on loopback
/// in a temporary directory — lenders publish offers on the DHT, a borrower finds them, sends
/// a bundled job over the encrypted job channel, and both sign the receipt; trust moves.
struct JobDemo {
    var lenders = 3
    /// Small enough to finish in about a second in a debug build (WasmKit's interpreter runs
    /// ~100× slower unoptimised); `potluck run` takes any size.
    var primesBelow = 300_000

    /// One in-process node: its directory, identity and service.
    struct Peer: Sendable {
        let name: String
        let directory: String
        let identity: SigningKey
        let environment: Environment
        let service: DHTService
        var data: DataDirectoryOptions {
            var options = DataDirectoryOptions()
            options.dataDir = directory
            return options
        }
    }

    func run() async throws {
        let root = try Self.temporaryDirectory()
        // Ctrl-C skips every `defer`: the guard removes the nodes' directory then, too.
        let interrupted = RemoveOnInterrupt(root)
        defer {
            interrupted.disarm()
            try? FileManager.default.removeItem(atPath: root)
        }
        var logger = Logger(label: "potluck.demo") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        let (ready, readySink) = AsyncStream.makeStream(of: [Endpoint].self)

        print("Starting \(lenders) lenders and 1 borrower on 127.0.0.1 (UDP for the DHT, TCP for jobs), in \(root)…")
        var peers = [try makePeer(name: "lender 1", index: 0, root: root, bootstrap: nil, logger: logger) { bound in
            readySink.yield(bound)
        }]
        // The first node is everyone's bootstrap: it starts alone, and the others once its port is known.
        let firstGroup = ServiceGroup(configuration: .init(services: [.init(service: peers[0].service)], logger: logger))
        let firstRunning = Task { try await firstGroup.run() }
        var iterator = ready.makeAsyncIterator()
        guard let bound = await iterator.next(), let first = bound.first else { throw CLIError("the first node did not start") }
        for index in 1...lenders {
            let name = index == lenders ? "borrower" : "lender \(index + 1)"
            peers.append(try makePeer(name: name, index: index, root: root, bootstrap: first, logger: logger) { _ in })
        }
        let group = ServiceGroup(configuration: .init(services: peers.dropFirst().map { .init(service: $0.service) }, logger: logger))
        let running = Task { try await group.run() }
        defer {
            running.cancel()
            firstRunning.cancel()
        }
        let everyone = peers
        let minimum = min(2, lenders)
        _ = try await poll("every node joined the DHT", timeout: .seconds(60)) { () -> Bool? in
            for peer in everyone where ((try? await callNode(peer.data, .dhtStatus))?.routingTableSize ?? 0) < minimum { return nil }
            return true
        }

        for (index, lender) in peers.dropLast().enumerated() {
            var config = LenderConfig()
            config.cores = index + 1
            config.memory = "512MiB"
            config.maxJobs = 2
            try nodeErrors { try config.save(to: LenderConfig.path(inDataDirectory: lender.directory)) }
            guard let endpoint = try await callNode(lender.data, .nodeInfo).jobs else { throw CLIError("\(lender.name) serves no jobs") }
            let offer = try nodeErrors { try config.offer(lender: lender.identity.publicKey, endpoint: endpoint) }
            _ = try await callNode(lender.data, .publishOffer(hex: Hex.encode(try offer.encoded())))
            print("  \(lender.name) \(short(lender.identity.publicKey)) offers \(offer.cores) core(s), 512 MiB of wasm32-wasi at \(endpoint)")
        }

        let borrower = peers[lenders]
        let guest = GuestJob(module: ExampleJobs.primes, arguments: [String(primesBelow)], stdin: [], inputFiles: [:],
                             limits: JobLimits(coreSeconds: 30, memoryBytes: 64 << 20, wallSeconds: 60, outputBytes: 1 << 20))
        let demand = JobDemand(cores: 1, memoryBytes: guest.limits.memoryBytes, coreSeconds: guest.limits.coreSeconds, wallSeconds: guest.limits.wallSeconds)
        let lenderCount = lenders
        let candidates = try await poll("the borrower found every offer through the DHT", timeout: .seconds(20)) { () -> [OfferCandidate]? in
            let found = (try? await findOffers(borrower.data, runtime: "wasm32-wasi", cores: 1, me: borrower.identity.publicKey)) ?? []
            return found.count >= lenderCount ? found : nil
        }
        let (ranked, _, _) = rankOffers(candidates, for: demand, borrower: borrower.identity.publicKey)
        print("The borrower \(short(borrower.identity.publicKey)) found \(candidates.count) offer(s) through the DHT; \(ranked.count) fit the job.")
        guard let choice = ranked.first else { throw CLIError("no offer fits the demo job") }

        print("Job: primes.wasm (\(ExampleJobs.primes.count) bytes, digest \(guest.digest.hex.prefix(16))…) counts the primes below \(primesBelow).")
        let completion = try await borrow(guest, on: choice.offer, by: borrower)
        let lender = peers.first { $0.identity.publicKey == choice.offer.lender }!
        print("  ran on \(lender.name) \(short(lender.identity.publicKey)): \(completion.outcome.summary)")
        print("  its output: \(String(decoding: completion.outcome.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        guard case .success(let receipt) = completion.receipt else {
            throw CLIError("the receipt was not signed: \(completion.receipt.failureDescription)")
        }
        // The lender stores the countersigned receipt as it arrives, just after the borrower sent it.
        let stored = try await poll("both stored the receipt", timeout: .seconds(5)) { () -> Bool? in
            storedBy(lender, receipt) && storedBy(borrower, receipt) ? true : nil
        }
        print("  receipt \(receipt.id.hex.prefix(16))…: \(receipt.body.coreMilliseconds) core-ms, signed by both, stored by both: \(stored ? "yes" : "no")")

        // The lender now borrows back: its fractal runs on another peer, and trust flows both ways.
        let fractal = GuestJob(module: ExampleJobs.mandelbrot, arguments: ["96", "64"], stdin: [], inputFiles: [:],
                               limits: JobLimits(coreSeconds: 30, memoryBytes: 64 << 20, wallSeconds: 60, outputBytes: 4 << 20))
        let others = candidates.filter { $0.offer.lender != lender.identity.publicKey }
        let fractalDemand = JobDemand(cores: 1, memoryBytes: fractal.limits.memoryBytes, coreSeconds: fractal.limits.coreSeconds,
                                      wallSeconds: fractal.limits.wallSeconds)
        if let other = rankOffers(others, for: fractalDemand, borrower: lender.identity.publicKey).ranked.first?.offer {
            let back = try await borrow(fractal, on: other, by: lender)
            let files = back.outcome.outputFiles.map { "\($0.key) (\($0.value.count) bytes)" }.sorted().joined(separator: ", ")
            let name = peers.first { $0.identity.publicKey == other.lender }?.name ?? "a peer"
            print("Then \(lender.name) borrowed: mandelbrot.wasm on \(name) \(short(other.lender)): \(back.outcome.summary); wrote \(files)")
        }

        print("Trust, each from its own receipts (flow, spec 0012; one core-hour of net work given scores 0.5):")
        for viewer in peers {
            let ledger = try ReceiptStore(environment: viewer.environment).ledger()
            let snapshot = WorkGraph(ledger: ledger).snapshot(now: Int64(Date().timeIntervalSince1970 * 1000), halfLifeSeconds: nil)
            for subject in peers where subject.identity.publicKey != viewer.identity.publicKey {
                let flow = snapshot.flowScore(of: subject.identity.publicKey, asSeenBy: viewer.identity.publicKey)
                guard flow.given > 0 || flow.received > 0 else { continue }
                print(String(format: "  %@ → %@: %+.6f (it gave %.1f core-s, got %.1f)", viewer.name, subject.name, flow.score, flow.given, flow.received))
            }
        }
        try await runNative(lenders: Array(peers.dropLast()), borrower: borrower, root: root)
        print("Next: `potluck init`, `potluck node`, `potluck offer set` lend for real; `potluck run JOB.wasm` or `potluck run examples/photos/job.toml` borrows.")
        await group.triggerGracefulShutdown()
        await firstGroup.triggerGracefulShutdown()
        // Stopped before their directory goes: a node still shutting down would write into it.
        _ = await running.result
        _ = await firstRunning.result
    }

    private func borrow(_ guest: GuestJob, on offer: Offer, by peer: Peer) async throws -> JobClient.Completion {
        let client = JobClient(identity: peer.identity, receipts: try ReceiptStore(environment: peer.environment),
                               jobs: try JobStore(environment: peer.environment))
        do { return try await client.run(guest, cores: 1, on: try nodeErrors { try JobClient.Lender(offer: offer) }) } catch let failure as JobClient.Failure {
            throw CLIError(failure.description)
        }
    }

    private func storedBy(_ peer: Peer, _ receipt: Receipt) -> Bool {
        ((try? ReceiptStore(environment: peer.environment).ledger())?.receipt(id: receipt.id)) != nil
    }

    private func makePeer(name: String, index: Int, root: String, bootstrap: Endpoint?, logger: Logger,
                          ready: @escaping @Sendable ([Endpoint]) -> Void) throws -> Peer {
        let directory = root + "/node\(index)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let identity = SigningKey.generate()
        do { try IdentityFile.create(at: directory + "/identity", key: identity) } catch { throw CLIError(error.description) }
        let environment = try Environment(path: directory + "/db")
        var options = NodeOptions(dataDirectory: directory)
        options.listen = [Endpoint(address: .v4(0x7f00_0001), port: 0)]
        options.bootstrap = bootstrap.map { [$0.description] } ?? []
        options.useDefaultBootstrap = false
        options.jobsPort = 0
        options.sandbox = .runningExecutableAsChild()
        let service = DHTService(options: options, identity: identity, persistence: try NodePersistence(environment: environment),
                                 logger: logger) { bound, _ in ready(bound) }
        return Peer(name: name, directory: directory, identity: identity, environment: environment, service: service)
    }

    func short(_ key: PublicKey) -> String { String(key.peerID.prefix(14)) + "…" }

    /// Polls `attempt` (which may block on a control socket, so it runs off the cooperative
    /// pool) every 200 ms until it gives a value or `timeout` passes.
    func poll<T: Sendable>(_ what: String, timeout: Duration, _ attempt: @escaping @Sendable () async -> T?) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = await attempt() { return value }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw CLIError("the demo timed out waiting until \(what)")
    }

    static func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/potluck-demo-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CLIError("cannot create a temporary directory") }
        return String(cString: made)
    }
}

/// While armed, SIGINT or SIGTERM removes `path` and ends the process with the signal's usual
/// status (130, 143), so an interrupted demo leaves no temporary directory behind.
final class RemoveOnInterrupt: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(_ path: String) {
        sources = [SIGINT, SIGTERM].map { signal in
            Foundation.signal(signal, SIG_IGN)  // delivered to the dispatch source instead
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            source.setEventHandler {
                // The nodes still run on other threads and may be creating files in it (a node
                // that is starting makes its directory, token and socket): remove until it stays
                // gone for 25 ms, at most 40 times.
                for _ in 0..<40 {
                    try? FileManager.default.removeItem(atPath: path)
                    usleep(25_000)
                    if !FileManager.default.fileExists(atPath: path) { break }
                }
                exit(128 + signal)
            }
            source.resume()
            return source
        }
    }

    /// Restores the default handling.
    func disarm() {
        for source in sources { source.cancel() }
        Foundation.signal(SIGINT, SIG_DFL)
        Foundation.signal(SIGTERM, SIG_DFL)
    }
}
