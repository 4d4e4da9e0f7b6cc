@testable import Node
import Sandbox
import Testing

/// The guests a lender pauses while its owner uses the machine or has paused lending (spec
/// 0019 §2.4).
struct GuestRosterTests {
    @Test func everyGuestPausesWhileTheOwnerIsThereAndGoesOnAfter() {
        let roster = GuestRoster()
        let (first, one) = roster.add(cores: 1)
        let (_, two) = roster.add(cores: 2)
        #expect(roster.hold(.ownerPresent, true) == 2)
        #expect(one.isPaused && two.isPaused && roster.pausedCores == 3)
        #expect(roster.hold(.ownerPresent, true) == 0, "already paused: nothing changes")

        let (_, late) = roster.add(cores: 1)
        #expect(late.isPaused, "a guest that starts while the owner is there starts paused")
        roster.remove(first)
        #expect(roster.pausedCores == 3)

        #expect(roster.hold(.ownerPresent, false) == 2)
        #expect(!two.isPaused && !late.isPaused && roster.pausedCores == 0)
        #expect(one.isPaused, "a guest that ended is left alone")
    }

    @Test func guestsGoOnOnlyWhenNothingHoldsThem() {
        let roster = GuestRoster()
        let (_, guest) = roster.add(cores: 2)
        #expect(roster.hold(.lendingPaused, true) == 1)
        #expect(guest.isPaused && roster.pausedCores == 2)
        #expect(roster.hold(.ownerPresent, true) == 0, "already paused")
        #expect(roster.hold(.ownerPresent, false) == 0, "lending is still paused")
        #expect(guest.isPaused)
        let (_, late) = roster.add(cores: 1)
        #expect(late.isPaused, "a guest that starts while lending is paused starts paused")
        #expect(roster.hold(.lendingPaused, false) == 2)
        #expect(!guest.isPaused && !late.isPaused && roster.pausedCores == 0)
    }
}
