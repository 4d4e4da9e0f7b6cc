import PotluckCrypto
import Foundation
import Records
import JobChannel
import Kademlia
import Logging
import Sandbox
import Synchronization

extension DHTService {
    /// Binds the job channel beside the DHT socket: on the options' port, else on the DHT's UDP
    /// port number if it is free for TCP, else on any free port (`spec/0017-jobs.md` §1).
    func bindJobService(host: Endpoint) async throws -> JobChannelServer {
        let config = try LenderConfig.load(from: LenderConfig.path(inDataDirectory: options.dataDirectory))
        let limits = config.channelLimits.limits
        let service = try JobService(
            identity: identity, dataDirectory: options.dataDirectory, receipts: try ReceiptStore(environment: persistence.environment),
            jobs: try JobStore(environment: persistence.environment), runner: options.sandbox, askers: askers, logger: logger)
        let address = host.addressText
        let candidates = options.jobsPort.map { [$0] } ?? [Int(host.port), 0]
        var lastError: (any Error)?
        for port in candidates {
            do {
                let relay = options.relays ? RelayServer(identity: identity, limits: config.relayLimits(options.relayLimits), ledger: try relayReceiptBook()) : nil
                let server = try await JobChannelServer.bind(host: address, port: port, identity: identity, limits: limits, relay: relay,
                                                                 vouched: { service.known.contains($0) }) {
                    connection in
                    await service.serve(connection)
                }
                jobServer.withLock { $0 = server }
                let shown = address.contains(":") ? "[\(address)]" : address
                jobs.withLock { $0 = (service, "tcp://\(shown):\(server.port)", UInt16(server.port)) }
                logger.info("job channel on tcp://\(shown):\(server.port)")
                if !config.tools.isEmpty { logger.info("native tools: \(NativeRunner.cgroupSupport())") }
                return server
            } catch {
                lastError = error
            }
        }
        throw NodeError("cannot listen for jobs on \(address): \(lastError.map(plainSocketError) ?? "no port"); try --jobs-port 0")
    }

    /// Proposes, checks and keeps the receipts of relayed bytes (spec 0021 §5.5).
    func relayReceiptBook() throws -> RelayReceiptBook {
        RelayReceiptBook(identity: identity, receipts: try ReceiptStore(environment: persistence.environment), logger: logger)
    }

    /// Resumes the detached jobs a previous run left unfinished, and takes new ones.
    func startDetachedJobs(handler: ControlHandler) throws {
        let environment = persistence.environment
        let receipts = try ReceiptStore(environment: environment)
        let client = JobClient(identity: identity, receipts: receipts, jobs: try JobStore(environment: environment))
        let me = identity.publicKey
        let detached = DetachedJobs(store: try BatchStore(environment: environment), avoided: try AvoidedLenders(environment: environment),
                                    client: client, me: me, logger: logger) { _ in
            guard let answer = try? await handler.listOffers(runtime: Offer.nativeRuntime, minimumCores: 1) else { return [] }
            return OfferCandidate.candidates(in: answer, ledger: (try? receipts.ledger()) ?? ReceiptLedger(), me: me)
        }
        self.detached.withLock { $0 = detached }
        detached.resumeUnfinished()
    }
}
