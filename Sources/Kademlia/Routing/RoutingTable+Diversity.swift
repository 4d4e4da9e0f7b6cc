extension RoutingTable {
    /// The address block a member counts against for ``Configuration/maxPerPrefix``: an IPv4
    /// /24 or an IPv6 /64. Local addresses (BEP 42's exempt blocks: loopback, private, link-local)
    /// count against nothing.
    enum AddressBlock: Hashable, Sendable {
        case v4(UInt32)
        case v6(UInt64)

        init?(_ address: Endpoint.Address) {
            guard !NodeIDSecurity.isExempt(address) else { return nil }
            switch address {
            case .v4(let ip): self = .v4(ip >> 8)
            case .v6(let high, _): self = .v6(high)
            }
        }
    }

    /// Why a node at `address` may not join `bucket` (in place of member `replacing`, if set):
    /// another member there has its address (libtorrent's `restrict_routing_ips`), or its /24
    /// (/64) already holds ``Configuration/maxPerPrefix`` members of the table (`spec/0004` §6.1).
    /// Bad members count too: a node back on its address with a new id takes the place of its
    /// old, silent self (``staleMember(at:in:)``), never a place beside it. Local addresses
    /// are never refused.
    func diversityRejection(of address: Endpoint.Address, in bucket: Bucket, replacing member: Int? = nil) -> RejectReason? {
        guard let block = AddressBlock(address) else { return nil }
        if configuration.maxPerAddressPerBucket > 0 {
            var same = 0
            for (position, entry) in bucket.entries.enumerated() where position != member && entry.endpoint.address == address {
                same += 1
            }
            if same >= configuration.maxPerAddressPerBucket { return .addressInBucket }
        }
        if configuration.maxPerPrefix > 0 {
            var present = blockCounts[block, default: 0]
            if let member, AddressBlock(bucket.entries[member].endpoint.address) == block { present -= 1 }
            if present >= configuration.maxPerPrefix { return .prefixFull }
        }
        return nil
    }

    /// The bad member of `bucket` at `address`, which a newcomer from that address replaces; `nil`
    /// if none, or if the address rules do not apply (no per-address limit, a local address).
    func staleMember(at address: Endpoint.Address, in bucket: Bucket) -> Int? {
        guard configuration.maxPerAddressPerBucket > 0, AddressBlock(address) != nil else { return nil }
        return bucket.entries.firstIndex { $0.endpoint.address == address && Int($0.failures) >= configuration.maxFailures }
    }

    /// Bars the public `address` to newcomers for ``Configuration/addressPenalty`` (its member
    /// went bad), and forgets the replacement candidates at it. At most 4096 addresses are barred
    /// at once; past that, expired bars are dropped, then all.
    mutating func bar(_ address: Endpoint.Address, now: Timestamp) {
        guard configuration.addressPenalty > .zero, AddressBlock(address) != nil else { return }
        if barred[address] == nil, barred.count >= 4096 {
            barred = barred.filter { $0.value > now }
            if barred.count >= 4096 { barred.removeAll() }
        }
        barred[address] = now + configuration.addressPenalty
        for index in buckets.indices where buckets[index].replacements.contains(where: { $0.endpoint.address == address }) {
            buckets[index].replacements.removeAll { $0.endpoint.address == address }
        }
    }

    /// Whether newcomers from `address` are barred at `now`.
    func isBarred(_ address: Endpoint.Address, now: Timestamp) -> Bool {
        barred[address].map { $0 > now } ?? false
    }

    /// The replacement candidate of `bucket` to promote (in place of member `replacing`, if set):
    /// the most recent one that has answered us, else the most recent, among those the address
    /// rules admit; `nil` when none is.
    func pickReplacement(in bucket: Bucket, replacing member: Int? = nil) -> Int? {
        let admissible = bucket.replacements.indices.filter {
            diversityRejection(of: bucket.replacements[$0].endpoint.address, in: bucket, replacing: member) == nil
        }
        return admissible.last(where: { bucket.replacements[$0].lastResponse != nil }) ?? admissible.last
    }

    /// Counts a member that joined the table.
    mutating func joined(_ entry: Entry) {
        guard let block = AddressBlock(entry.endpoint.address) else { return }
        blockCounts[block, default: 0] += 1
    }

    /// Uncounts a member that left the table.
    mutating func left(_ entry: Entry) {
        guard let block = AddressBlock(entry.endpoint.address) else { return }
        blockCounts[block, default: 1] -= 1
        if blockCounts[block] == 0 { blockCounts[block] = nil }
    }

    /// Members per address block, recounted (for tests of the bookkeeping).
    func recountedBlocks() -> [AddressBlock: Int] {
        var counts: [AddressBlock: Int] = [:]
        for bucket in buckets {
            for entry in bucket.entries { if let block = AddressBlock(entry.endpoint.address) { counts[block, default: 0] += 1 } }
        }
        return counts
    }
}
