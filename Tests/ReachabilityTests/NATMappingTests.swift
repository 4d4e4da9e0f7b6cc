import Kademlia
import Reachability
import Testing

/// The NAT classes as spec 0021 §2 defines them, from hand-made reports.
@Suite struct NATMappingTests {
    let home = Endpoint.Address.v4(0x0A00_0102)  // 10.0.1.2
    let router = Endpoint.Address.v4(0xCB00_7114)  // 203.0.113.20
    func peer(_ n: UInt32) -> Endpoint.Address { .v4(0xCB00_7100 + n) }

    func classify(_ seen: [Endpoint.Address: Endpoint], local: Set<Endpoint.Address>? = nil) -> NATMapping {
        NATMapping.classify(seen, localPort: 6881, localAddresses: local ?? [home])
    }

    @Test func noReportsIsUnknown() {
        #expect(classify([:]) == .unknown)
    }

    /// One peer that saw another address proves a NAT, not its kind; two peers that disagree on
    /// the address prove nothing yet.
    @Test func oneTranslatedReportShowsANATButNotItsKind() {
        #expect(classify([peer(10): Endpoint(address: router, port: 6881)]) == .translated)
        let split = [peer(10): Endpoint(address: router, port: 6881), peer(11): Endpoint(address: peer(99), port: 6881)]
        #expect(classify(split) == .unknown)
    }

    @Test func samePortFromTwoPeersKeepsPorts() {
        let seen = [peer(10): Endpoint(address: router, port: 6881), peer(11): Endpoint(address: router, port: 6881)]
        #expect(classify(seen) == .keepsPorts)
    }

    @Test func sameOtherPortRemapsPorts() {
        let seen = [peer(10): Endpoint(address: router, port: 40001), peer(11): Endpoint(address: router, port: 40001)]
        #expect(classify(seen) == .remapsPorts)
    }

    @Test func portsThatDifferAreSymmetric() {
        let seen = [peer(10): Endpoint(address: router, port: 45981), peer(11): Endpoint(address: router, port: 3827)]
        #expect(classify(seen) == .symmetric)
    }

    @Test func aLocalAddressAloneMeansNoNAT() {
        let publicHost = peer(7)
        #expect(classify([peer(10): Endpoint(address: publicHost, port: 6881)], local: [publicHost]) == .none)
    }

    /// A peer on the same home network sees the private address; peers outside decide.
    @Test func translatedReportsOutweighNeighbours() {
        let seen = [.v4(0x0A00_0103): Endpoint(address: home, port: 6881),
                    peer(10): Endpoint(address: router, port: 6881), peer(11): Endpoint(address: router, port: 6881)]
        #expect(classify(seen) == .keepsPorts)
    }

    /// A stale or lying report of another address is left out.
    @Test func theMostReportedAddressDecides() {
        let seen = [peer(10): Endpoint(address: router, port: 6881), peer(11): Endpoint(address: router, port: 6881),
                    peer(12): Endpoint(address: peer(99), port: 1234)]
        #expect(NATMapping.mostReported(seen) == router)
        #expect(classify(seen) == .keepsPorts)
    }
}

@Suite struct ReachabilityTests {
    let bound = Endpoint(address: .v4(0x0A00_0102), port: 6881)
    let router = Endpoint.Address.v4(0xCB00_7114)

    @Test func aMappingMakesANATtedNodeReachable() {
        let mapped = PortMapping(protocolName: "NAT-PMP", publicAddress: router, udpPort: 6881, tcpPort: 6882, lifetime: 7200)
        let reach = Reachability.decide(mapping: .symmetric, seenAddress: router, bound: bound, jobsPort: 6882, mapped: mapped)
        #expect(reach.state == .reachable(dht: Endpoint(address: router, port: 6881), jobs: Endpoint(address: router, port: 6882),
                                          path: .mapped(by: "NAT-PMP")))
        #expect(!reach.joinsReadOnly)
        #expect(reach.summary == "reachable at 203.0.113.20:6881 (jobs on TCP port 6882), a port the router mapped through NAT-PMP")
    }

    @Test func aNATWithoutMappingIsReadOnly() {
        let reach = Reachability.decide(mapping: .keepsPorts, seenAddress: router, bound: bound, jobsPort: 6881, mapped: nil,
                                        mappingProblem: "no NAT-PMP or UPnP router answered")
        #expect(reach.joinsReadOnly)
        #expect(!reach.isReachable)
        #expect(reach.summary.hasPrefix("behind a NAT that keeps ports (others see 203.0.113.20)"))
        #expect(reach.summary.hasSuffix("; port mapping: no NAT-PMP or UPnP router answered"))
        // The relays it lends through, in its offer's order.
        var relayed = reach
        relayed.relays = ["203.0.113.10:6891"]
        #expect(relayed.summary.contains("; borrowers reach it through the relay 203.0.113.10:6891;"))
        relayed.relays.append("203.0.113.11:6891")
        #expect(relayed.summary.contains("; borrowers reach it through the relays 203.0.113.10:6891 and 203.0.113.11:6891;"))
    }

    @Test func unknownStillAnswers() {
        let reach = Reachability.decide(mapping: .unknown, seenAddress: nil, bound: bound, jobsPort: nil, mapped: nil)
        #expect(!reach.joinsReadOnly && !reach.isReachable)
    }

    @Test func noNATIsReachableDirectly() {
        let loopback = Endpoint(address: .v4(0x7F00_0001), port: 40000)
        let reach = Reachability.decide(mapping: .none, seenAddress: nil, bound: loopback, jobsPort: 40000, mapped: nil)
        #expect(reach.summary == "reachable at 127.0.0.1:40000")
    }
}

/// The verdict from raw reports (spec 0021 §4), as the node's monitor asks for it.
@Suite struct VerdictFromReportsTests {
    let home = Endpoint(address: .v4(0x0A00_0102), port: 6881)
    let router = Endpoint.Address.v4(0xCB00_7114)

    func decide(_ reports: [Endpoint.Address: Endpoint], tableSize: Int = 1, elapsed: Duration = .seconds(30)) -> Reachability {
        Reachability.decide(reports: reports, localAddresses: [home.address], bound: home, jobsPort: 6881, mapped: nil,
                            mappingProblem: nil, tableSize: tableSize, elapsed: elapsed, joinsThroughPeers: true)
    }

    @Test func reportsOfTwoPeersPlaceTheNodeBehindItsNAT() {
        let reports = [Endpoint.Address.v4(0xCB00_710A): Endpoint(address: router, port: 6881),
                       .v4(0xCB00_710B): Endpoint(address: router, port: 6881),
                       .v6(0x2001_0db8_0000_0000, 1): Endpoint(address: .v6(0x2001_0db8_0000_0000, 2), port: 6881)]  // another family: ignored
        #expect(decide(reports).state == .behindNAT(.keepsPorts, publicAddress: router))
    }

    @Test func silenceAfterTheLimitMeansUDPIsBlocked() {
        #expect(decide([:], tableSize: 0, elapsed: .seconds(11)).state == .unanswered)
        #expect(decide([:], tableSize: 0, elapsed: .seconds(5)).state == .unknown)
        #expect(decide([:], tableSize: 2, elapsed: .seconds(60)).state == .unknown)
    }
}
