// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Sandbox

// The sandbox child process: reads one encoded GuestJob on stdin, runs it, and writes frames
// to stdout (spec 0014 §8). Its parent is `SandboxRunner`; people do not run it by hand.
SandboxChild.main()
