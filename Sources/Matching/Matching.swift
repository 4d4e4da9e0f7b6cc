// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// The matching engine (issue 7): pairs requests to offers by hard constraints, then latency and trust.
public enum Matching {}
