import PotluckCrypto
import ControlAPI
import Foundation
import Jobs
import Kademlia
import Logging
import Records
import Synchronization

/// Keeps a published offer alive: while the node's own offer item is an offer (not withdrawn),
/// it is rebuilt from `DIR/config.toml` with a new expiry and published again when half of its
/// lifetime has passed (`spec/0011-records.md`: offers are refreshed before they expire), and
/// at once when an idle-only lender's machine turns busy or idle again (§2.2).
struct OfferRefresher {
    let service: DHTService
    let handler: ControlHandler

    /// Runs until cancelled, checking every `interval`. The first time the routing table has
    /// someone, the offer is published and announced again whatever its age: the announcement
    /// (BEP 5 peers, kept 30 minutes and never on disk) did not survive a restart of this node
    /// or of the nodes that held it, and without it no borrower finds the offer (issue 20).
    func run(interval: Duration = .seconds(1)) async throws {
        var announcedSinceStart = false
        var signal = BusySignal()
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            var force = false
            if !announcedSinceStart {
                let peers = await handler.inspect { $0.status.routingTableSize } ?? 0
                force = peers > 0
                announcedSinceStart = force
            }
            if announcedSinceStart, await publishPending() { continue }
            await refreshIfDue(now: Int64(Date().timeIntervalSince1970), force: force, signal: &signal)
        }
    }

    /// Publishes the offer set while no node ran (`potluck offer set` offline), once; `true` when
    /// it did.
    func publishPending() async -> Bool {
        let marker = LenderConfig.pendingPath(inDataDirectory: service.options.dataDirectory)
        guard FileManager.default.fileExists(atPath: marker), !LendingPause.isPaused(dataDirectory: service.options.dataDirectory),
              let endpoint = service.advertisedJobsEndpoint() ?? service.jobs.withLock({ $0?.endpoint }) else { return false }
        do {
            let config = try LenderConfig.load(from: LenderConfig.path(inDataDirectory: service.options.dataDirectory))
            let offer = try config.offer(lender: service.identity.publicKey, endpoint: endpoint)
            do { _ = try await handler.publishOffer(OfferPublishRequest(offer: Hex.encode(try offer.encoded()))) } catch {
                service.logger.warning("cannot publish the offer set while the node was down: \(error)")
                return false
            }
            try? FileManager.default.removeItem(atPath: marker)
            service.logger.info("published the offer set while the node was down: \(offer.cores) core(s), \(config.memory)")
            return true
        } catch {
            service.logger.warning("cannot publish the offer set while the node was down: \(error)")
            try? FileManager.default.removeItem(atPath: marker)  // a broken config: `offer set` says why when run again
            return false
        }
    }

    func refreshIfDue(now: Int64, force: Bool = false, signal: inout BusySignal) async {
        let loaded = Result { try LenderConfig.load(from: LenderConfig.path(inDataDirectory: service.options.dataDirectory)) }
        // The running guests follow the owner and the pause switch whether or not an offer is
        // out (`spec/0019` §2.4).
        let lending = service.jobs.withLock { $0?.service }
        var busySince: Int64?
        if let current = try? loaded.get(), current.idleOnly {
            busySince = await observeMachine(current, now: now, signal: &signal)
        } else {
            lending?.guests.hold(.ownerPresent, false)
        }
        let paused = LendingPause.isPaused(dataDirectory: service.options.dataDirectory)
        lending?.holdGuests(lendingPaused: paused)
        guard !paused else { return }
        let target = MutableItem.target(key: service.identity.publicKey, salt: ControlHandler.offerSalt)
        guard case .mutable(let item)? = try? service.persistence.ownItem(target),
              let published = try? Offer(encoded: item.value) else { return }  // none, or withdrawn
        let config: LenderConfig
        do { config = try loaded.get() } catch {
            service.logger.warning("cannot refresh the offer: \(error)")
            return
        }
        guard let lifetime = Quantities.duration(config.ttl) else { return }
        let halfLife = max(1, lifetime.components.seconds / 2)
        // Republish early when the reachable endpoint changed (a new mapping, a new address).
        let moved = service.advertisedJobsEndpoint().map { $0 != published.endpoint } ?? false
        // Republish at once when an idle-only machine turned busy or idle (`spec/0011` §2.2),
        // or when another publisher (`offer set`) left out what the offer must say.
        guard force || moved || published.busySince != busySince || published.expiry - now <= halfLife else { return }
        do {
            let fresh = try config.offer(lender: service.identity.publicKey, endpoint: published.endpoint, busySince: busySince)
            _ = try await handler.publishOffer(OfferPublishRequest(offer: Hex.encode(try fresh.encoded())))
        } catch {
            service.logger.warning("cannot refresh the offer: \(error)")
        }
    }

    /// Measures the machine as admission does and returns what the offer says: busy since when,
    /// or nil while idle. While it says busy, the guests running are paused (`spec/0019` §2.4).
    private func observeMachine(_ config: LenderConfig, now: Int64, signal: inout BusySignal) async -> Int64? {
        let lending = service.jobs.withLock { $0?.service }
        // Paused guests hold no core: the load is the owner's alone.
        let potluckCores = max(0, (await lending?.desk.coresInUse ?? 0) - (lending?.guests.pausedCores ?? 0))
        let machine = MachineLoad.current(potluckCores: potluckCores, idleShare: config.idleLoad)
        if signal.observe(busy: !machine.idle, now: now) {
            let paused = lending?.guests.hold(.ownerPresent, signal.busySince != nil) ?? 0
            let guests = paused == 0 ? "" : signal.busySince == nil ? "; \(paused) paused job(s) go on" : "; \(paused) running job(s) paused"
            service.logger.info(signal.busySince == nil
                ? "the machine is idle again (\(machine.detail)): the offer says so, borrowers may ask\(guests)"
                : "the machine is busy with other work (\(machine.detail)): the offer says so, borrowers skip it\(guests)")
        }
        return signal.busySince
    }
}
