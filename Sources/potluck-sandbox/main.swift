// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Sandbox

// The sandbox child process: filled in by issue 6.
_ = Sandbox.self
