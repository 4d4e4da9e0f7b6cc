@testable import Node
import Sandbox
import Testing

/// The guests an idle-only lender pauses while its owner uses the machine (spec 0019 §2.4).
struct GuestRosterTests {
    @Test func everyGuestPausesWhileTheOwnerIsThereAndGoesOnAfter() {
        let roster = GuestRoster()
        let (first, one) = roster.add(cores: 1)
        let (_, two) = roster.add(cores: 2)
        #expect(roster.ownerPresent(true) == 2)
        #expect(one.isPaused && two.isPaused && roster.pausedCores == 3)
        #expect(roster.ownerPresent(true) == 0, "already paused: nothing changes")

        let (_, late) = roster.add(cores: 1)
        #expect(late.isPaused, "a guest that starts while the owner is there starts paused")
        roster.remove(first)
        #expect(roster.pausedCores == 3)

        #expect(roster.ownerPresent(false) == 2)
        #expect(!two.isPaused && !late.isPaused && roster.pausedCores == 0)
        #expect(one.isPaused, "a guest that ended is left alone")
    }
}
