// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// The constants of Vivaldi's adaptive-timestep update (Dabek et al., SIGCOMM 2004, §3.3–3.4,
/// Fig. 3): `c_c` scales the timestep δ = c_c × w, `c_e` weights a new sample in the moving
/// average of the error. The paper finds c_c = c_e = 0.25 converge quickly and stably.
///
/// **Deviations.** The paper's error estimate and heights have no bounds; here the error is kept
/// in [``minError``, ``maxError``] = [0.001, 1] (so the weight w = e_i/(e_i + e_j) is always
/// defined, and a single sample whose relative error exceeds 1 cannot make a node look worse than
/// "no idea"), and heights are kept at least ``minHeight`` (0.01 ms, Serf's floor), so the unit
/// vector of two nodes at one Euclidean point still has a height part to push.
public struct VivaldiConfiguration: Sendable, Hashable {
    /// Number of Euclidean dimensions (2, as the King coordinates and the paper's §5).
    public var dimensions: Int
    /// c_c: the timestep constant, δ = c_c × w.
    public var cc: Double
    /// c_e: the error-averaging constant.
    public var ce: Double
    /// The least height a node keeps, in milliseconds.
    public var minHeight: Double
    /// The least local error estimate.
    public var minError: Double
    /// The greatest local error estimate, and a new node's error.
    public var maxError: Double
    /// Below this Euclidean distance (ms) two vectors are taken to coincide, and the update
    /// pushes along a random unit direction instead.
    public var zeroThreshold: Double
    /// Samples kept per neighbour by the RTT filter (Ledlie et al., NSDI 2007); 1 disables it.
    public var filterWindow: Int
    /// Neighbours whose samples the RTT filter keeps (least recently sampled forgotten first).
    public var filterCapacity: Int
    /// k: a sample whose relative residual |rtt − d| / rtt exceeds τ = max(k × e_i, τ_min) pushes
    /// with the force of a residual of τ (a Huber bound scaled by the node's own error); 0 disables it.
    public var outlierFactor: Double
    /// τ_min: the least outlier bound.
    public var outlierFloor: Double
    /// c_c for samples given with a neighbour key (RTT-filtered and misfit-checked): those have
    /// their jitter filtered and persistent outliers damped, so a larger step converges faster
    /// without the paper's oscillation (`spec/0013-coordinates.md` §3.3).
    public var neighbourCC: Double
    /// τ: a neighbour's filtered sample misfits when max(r/p, p/r) − 1 > τ (r the filtered RTT, p
    /// the prediction); 0 disables the misfit rule (`spec/0013-coordinates.md` §3.3).
    public var misfitThreshold: Double
    /// n: from the n-th consecutive misfit of one neighbour on, its samples have weight ``misfitWeight``.
    public var misfitStrikes: Int
    /// ρ: the factor on the sample weight w of a neighbour with ``misfitStrikes`` consecutive misfits.
    public var misfitWeight: Double
    /// g: misfits are judged only while the node's own error e_i is at most this.
    public var misfitGate: Double

    /// The paper's constants: c_c = 0.25, c_e = 0.25, two dimensions; for samples with a neighbour
    /// key, the RTT filter (window 5) and the misfit rule (c_c 0.5, τ 0.4, n 3, ρ 0.2, g 0.4).
    public init(
        dimensions: Int = 2, cc: Double = 0.25, ce: Double = 0.25, minHeight: Double = 0.01,
        minError: Double = 0.001, maxError: Double = 1, zeroThreshold: Double = 1e-6,
        filterWindow: Int = 5, filterCapacity: Int = 64, outlierFactor: Double = 0, outlierFloor: Double = 0.05,
        neighbourCC: Double = 0.5, misfitThreshold: Double = 0.4, misfitStrikes: Int = 3, misfitWeight: Double = 0.2,
        misfitGate: Double = 0.4
    ) {
        precondition(dimensions >= 1 && dimensions <= 8, "1 to 8 dimensions")
        precondition(cc > 0 && cc <= 1 && ce > 0 && ce <= 1, "c_c and c_e in (0, 1]")
        precondition(minError > 0 && minError <= maxError && maxError <= 1, "0 < minError ≤ maxError ≤ 1")
        precondition(minHeight >= 0 && zeroThreshold > 0, "non-negative floors")
        precondition(neighbourCC > 0 && neighbourCC <= 1, "neighbour c_c in (0, 1]")
        precondition(misfitThreshold >= 0 && misfitStrikes >= 1 && misfitStrikes <= 255, "τ ≥ 0, 1 ≤ n ≤ 255")
        precondition(misfitWeight >= 0 && misfitWeight <= 1, "ρ in [0, 1]")
        self.dimensions = dimensions
        self.cc = cc
        self.ce = ce
        self.minHeight = minHeight
        self.minError = minError
        self.maxError = maxError
        self.zeroThreshold = zeroThreshold
        self.filterWindow = filterWindow
        self.filterCapacity = filterCapacity
        self.outlierFactor = outlierFactor
        self.outlierFloor = outlierFloor
        self.neighbourCC = neighbourCC
        self.misfitThreshold = misfitThreshold
        self.misfitStrikes = misfitStrikes
        self.misfitWeight = misfitWeight
        self.misfitGate = misfitGate
    }

    /// The paper's defaults.
    public static let standard = VivaldiConfiguration()
}
