// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Records

extension Matcher {
    /// The first hard constraint (`spec/0016-matching.md` §2) that `offer` fails for `request`,
    /// in ``RuleOut``'s order, or `nil` when it passes them all. Latency (`tooFar`) is checked
    /// after, once the latency is known.
    public func ruleOut(_ request: MatchRequest, _ offer: Offer, _ knowledge: MatchKnowledge) -> RuleOut? {
        if offer.isExpired(now: request.now) { return .expired }
        if !offer.runtimes.contains(request.runtime) { return .runtime }
        return ruleOutBesidesRuntime(request, offer, knowledge)
    }

    /// Every constraint but expiry and runtime (the batch index has already checked those).
    func ruleOutBesidesRuntime(_ request: MatchRequest, _ offer: Offer, _ knowledge: MatchKnowledge) -> RuleOut? {
        if missingTool(request, offer) != nil { return .tool }
        if offer.cores < request.cores { return .cores }
        if offer.memoryBytes < request.memoryBytes { return .memory }
        if !Self.isWithinWindows(offer.windows, now: request.now) { return .window }
        if offer.policy.denied.contains(request.borrower) { return .denied }
        if !offer.policy.allowed.isEmpty, !offer.policy.allowed.contains(request.borrower) { return .notAllowed }
        if !request.avoided.isEmpty, request.avoided.contains(offer.lender) { return .avoided }
        // The owner is at the machine, by the offer's own word (`spec/0011` §2.2). Cores taken
        // by other borrowers (`lenderIsBusy`) only mean a wait in the line.
        if offer.idleOnly, offer.busySince != nil { return .notIdle }
        return nil
    }

    /// The first tool of `request` (in its order) that `offer` does not lend, or `nil`.
    public func missingTool(_ request: MatchRequest, _ offer: Offer) -> String? {
        request.tools.first { offer.tools[$0] == nil }
    }

    /// Whether `now` (Unix seconds) falls in one of `windows` (daily, UTC); no windows means always.
    public static func isWithinWindows(_ windows: [TimeWindow], now: Int64) -> Bool {
        guard !windows.isEmpty else { return true }
        let secondOfDay = ((now % 86_400) + 86_400) % 86_400
        let minute = Int(secondOfDay / 60)
        return windows.contains { $0.contains(minute: minute) }
    }
}
