// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// The WebAssembly sandbox (issue 6).
public enum Sandbox {}
