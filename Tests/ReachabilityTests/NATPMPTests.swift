import Reachability
import Testing

/// NAT-PMP messages against RFC 6886's layouts (§3.2, §3.3, §3.5), byte for byte.
@Suite struct NATPMPTests {
    @Test func mappingRequestLayout() {
        let request = NATPMP.mappingRequest(.tcp, internalPort: 6881, suggestedExternalPort: 6881, lifetime: 7200)
        #expect(request == [0, 2, 0, 0, 0x1A, 0xE1, 0x1A, 0xE1, 0, 0, 0x1C, 0x20])
    }

    @Test func deleteIsLifetimeZero() {
        #expect(NATPMP.mappingRequest(.udp, internalPort: 6881, suggestedExternalPort: 0, lifetime: 0)
                == [0, 1, 0, 0, 0x1A, 0xE1, 0, 0, 0, 0, 0, 0])
    }

    @Test func externalAddressReply() throws {
        let reply: [UInt8] = [0, 128, 0, 0, 0, 0, 0x33, 0x0D, 203, 0, 113, 40]
        let decoded = try NATPMP.decodeExternalAddress(reply)
        #expect(decoded.epoch == 13069 && decoded.address == 0xCB00_7128)
    }

    @Test func mappingReply() throws {
        let reply: [UInt8] = [0, 129, 0, 0, 0, 0, 0, 5, 0x1A, 0xE1, 0x1A, 0xE2, 0, 0, 0x0E, 0x10]
        let mapping = try NATPMP.decodeMapping(reply, .udp)
        #expect(mapping.transport == .udp && mapping.epoch == 5 && mapping.internalPort == 6881)
        #expect(mapping.externalPort == 6882 && mapping.lifetime == 3600)
    }

    @Test func refusalsAndJunkAreErrors() {
        #expect(throws: NATPMP.DecodeError.refused(code: 2)) { try NATPMP.decodeMapping([0, 130, 0, 2, 0, 0, 0, 0], .tcp) }
        #expect(throws: NATPMP.DecodeError.notAReply(version: 2, opcode: 0)) { try NATPMP.decodeExternalAddress([2, 0, 0, 0]) }
        #expect(throws: NATPMP.DecodeError.truncated(3)) { try NATPMP.decodeExternalAddress([0, 128, 0]) }
        #expect(throws: NATPMP.DecodeError.truncated(8)) { try NATPMP.decodeMapping([0, 129, 0, 0, 0, 0, 0, 0], .udp) }
        #expect(NATPMP.DecodeError.refused(code: 2).description.contains("port mapping is turned off"))
    }
}
