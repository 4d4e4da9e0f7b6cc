import ControlAPI
import Foundation
import Jobs
import Kademlia
import Logging
import PotluckCrypto
import Records
import Synchronization
import Trust

/// What the dashboard asks beyond the CLI's calls (`spec/0008-control-api.md` §3): the lending
/// state and its pause switch, the jobs lent and borrowed, and trust both ways.
extension ControlHandler {
    public func lending() -> LendingState {
        let directory = service.options.dataDirectory
        let config = try? LenderConfig.load(from: LenderConfig.path(inDataDirectory: directory))
        let policy = config.map { config in
            LendingState.Policy(cores: config.cores, memory: config.memory, runtimes: config.allRuntimes, tools: config.tools.map(LenderConfig.toolName),
                                windows: config.windows, idleOnly: config.idleOnly, maxJobs: config.maxJobs, friends: config.friends.count,
                                denied: config.deny.count)
        }
        let target = MutableItem.target(key: service.identity.publicKey, salt: Self.offerSalt)
        var published = false
        if case .mutable(let item)? = try? service.persistence.ownItem(target), let offer = try? Offer(encoded: item.value) {
            published = !offer.isExpired(now: Int64(Date().timeIntervalSince1970))
        }
        return LendingState(paused: LendingPause.isPaused(dataDirectory: directory), policy: policy, published: published)
    }

    /// Pauses lending (the offer withdrawn from the DHT, new jobs refused, running ones paused
    /// and given back if lending stays paused for `JobMessage.pauseLimit`), or resumes it (the
    /// recorded offer published again, paused jobs go on). The switch outlives a restart.
    public func pauseLending(_ request: PauseRequest) async throws(APIError) -> LendingState {
        let directory = service.options.dataDirectory
        do { try LendingPause.set(request.paused, dataDirectory: directory) } catch { throw APIError(500, error.description) }
        service.jobs.withLock { $0?.service }?.holdGuests(lendingPaused: request.paused)
        if request.paused {
            if lending().published { _ = try? await withdrawOffer() }
            service.logger.notice("lending paused from the control API: the offer is withdrawn and new jobs are refused")
        } else {
            let path = LenderConfig.path(inDataDirectory: directory)
            if FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: LenderConfig.pendingPath(inDataDirectory: directory), contents: nil)
                _ = await OfferRefresher(service: service, handler: self).publishPending()
            }
            service.logger.notice("lending resumed from the control API")
        }
        return lending()
    }

    /// Changes the recorded policy as `potluck offer set` does, checked against this machine,
    /// and publishes the new offer unless lending is paused. A rejected change changes nothing.
    public func updatePolicy(_ update: PolicyUpdate) async throws(APIError) -> LendingState {
        guard service.jobs.withLock({ $0 }) != nil else { throw .conflict("this node serves no jobs (--no-jobs): it lends nothing") }
        let directory = service.options.dataDirectory
        let path = LenderConfig.path(inDataDirectory: directory)
        var config = FileManager.default.fileExists(atPath: path) ? ((try? LenderConfig.load(from: path)) ?? LenderConfig()) : LenderConfig()
        if let cores = update.cores { config.cores = cores }
        if let memory = update.memory { config.memory = memory }
        if let maxJobs = update.maxJobs { config.maxJobs = maxJobs }
        if let idleOnly = update.idleOnly { config.idleOnly = idleOnly }
        if let windows = update.windows { config.windows = windows }
        let offer: Offer
        do {
            try config.validate()
            offer = try config.offer(lender: service.identity.publicKey, endpoint: service.advertisedJobsEndpoint() ?? service.jobs.withLock { $0?.endpoint } ?? "")
        } catch {
            throw .badRequest(error.description)
        }
        do { try config.save(to: path) } catch { throw APIError(500, error.description) }
        if !LendingPause.isPaused(dataDirectory: directory) {
            do { _ = try await publishOffer(OfferPublishRequest(offer: Hex.encode(try offer.encoded()))) } catch let error as APIError {
                // Saved: the refresher publishes it once the network answers.
                _ = FileManager.default.createFile(atPath: LenderConfig.pendingPath(inDataDirectory: directory), contents: nil)
                service.logger.notice("the new policy is saved; publishing it waits for the network: \(error)")
            } catch {
                throw APIError(500, "\(error)")
            }
        }
        service.logger.notice("the lending policy was changed from the control API: \(config.cores) core(s), \(config.memory)")
        return lending()
    }

    public func jobHistory(limit: Int = 200) -> JobHistory {
        let records = (try? JobStore(environment: service.persistence.environment).all()) ?? []
        return JobHistory(jobs: records.sorted { $0.end > $1.end }.prefix(limit).map { record in
            JobHistory.Entry(role: record.role.rawValue, peer: record.peer.peerID, job: record.jobDigest.hex, cores: record.cores, start: record.start,
                             end: record.end, outcome: record.outcome, exitCode: record.exitCode,
                             coreSeconds: Double(record.coreMilliseconds) / 1000, receipt: record.receipt?.hex)
        })
    }

    public func trust() -> TrustSummary {
        let me = service.identity.publicKey
        let ledger = (try? ReceiptStore(environment: service.persistence.environment).ledger()) ?? ReceiptLedger()
        let snapshot = WorkGraph(ledger: ledger).snapshot(now: Int64(Date().timeIntervalSince1970 * 1000), halfLifeSeconds: nil)
        let mine = ledger.receipts(involving: me).filter(\.isComplete)
        let peers = Set(mine.flatMap { [$0.body.provider, $0.body.consumer] }).subtracting([me])
        return TrustSummary(me: me.peerID, receiptsKnown: ledger.completeReceipts.count, peers: peers.map { peer in
            let why = snapshot.explain(peer, asSeenBy: me)
            let via = why.intermediaries.prefix(3).map { "via \($0.peer.peerID.prefix(12))…: \(String(format: "%.1f", $0.carried)) core-s" }
            let sentence = String(format: "it gave you %.1f core-s and you gave it %.1f directly (%d receipts); %.1f core-s of its work reached you in all",
                                  why.direct.given, why.direct.received, why.directReceipts, why.flow.given)
                + (via.isEmpty ? "" : "; " + via.joined(separator: ", "))
            return TrustSummary.Peer(peer: peer.peerID, gaveMe: why.direct.given, iGave: why.direct.received, receipts: why.directReceipts,
                                     trustGiven: snapshot.flowScore(of: peer, asSeenBy: me).score,
                                     trustReceived: snapshot.flowScore(of: me, asSeenBy: peer).score, why: sentence)
        }.sorted { $0.trustGiven > $1.trustGiven })
    }
}

/// The owner's pause switch: `DIR/lending.paused` exists while lending is paused.
public enum LendingPause {
    public static func path(inDataDirectory directory: String) -> String { directory + "/lending.paused" }

    public static func isPaused(dataDirectory: String) -> Bool { FileManager.default.fileExists(atPath: path(inDataDirectory: dataDirectory)) }

    static func set(_ paused: Bool, dataDirectory: String) throws(NodeError) {
        let path = path(inDataDirectory: dataDirectory)
        if paused {
            guard FileManager.default.createFile(atPath: path, contents: Data("paused from the dashboard, the API or `potluck offer pause`\n".utf8)) else {
                throw NodeError("cannot write \(path)")
            }
        } else if FileManager.default.fileExists(atPath: path) {
            do { try FileManager.default.removeItem(atPath: path) } catch { throw NodeError("cannot remove \(path): \(error.localizedDescription)") }
        }
    }
}
