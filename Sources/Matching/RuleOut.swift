// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// Why an offer cannot serve a request: the hard constraints of `spec/0016-matching.md` §2, in
/// the order they are checked (the first that fails is the one reported). A ruled-out offer is
/// never chosen, by ``Matcher/rank(_:_:)`` nor by ``Matcher/assign(_:to:options:lenderIsBusy:knownLenders:)``.
public enum RuleOut: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The offer has expired at the request's `now`.
    case expired
    /// The offer does not run the request's runtime.
    case runtime
    /// The offer does not lend every native tool the request runs (``Matcher/missingTool(_:_:)`` names it).
    case tool
    /// The offer lends fewer cores than the request uses.
    case cores
    /// The offer lends less memory than the request needs.
    case memory
    /// `now` is outside every one of the offer's daily UTC windows.
    case window
    /// The lender's policy denies the borrower.
    case denied
    /// The lender publishes an allow list and the borrower is not on it.
    case notAllowed
    /// The borrower avoids this lender (``MatchRequest/avoided``).
    case avoided
    /// The lender lends only while idle, and its offer says its owner is using the machine.
    case notIdle
    /// The measured or estimated latency exceeds the request's `maxLatencyMs`.
    case tooFar

    /// A short sentence a person can read.
    public var description: String {
        switch self {
        case .expired: "the offer has expired"
        case .runtime: "the lender does not run this runtime"
        case .tool: "the lender does not lend a tool the job needs"
        case .cores: "the lender lends too few cores"
        case .memory: "the lender lends too little memory"
        case .window: "outside every one of the lender's time windows"
        case .denied: "the lender denies this borrower"
        case .notAllowed: "the lender only lends to peers on its allow list"
        case .avoided: "the borrower avoids this lender (a result of it lost a comparison, or it runs another replica of the job)"
        case .notIdle: "the lender lends only while idle, and its owner is using it"
        case .tooFar: "farther than the latency limit"
        }
    }
}
