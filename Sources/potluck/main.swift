#if canImport(Glibc)
import Glibc
#endif
import PotluckCLI
import Sandbox

// `potluck __sandbox-child` is the sandbox's child process (spec 0014 §8): a node runs each
// guest in a fresh one, so `potluck` alone is enough to lend.
if CommandLine.arguments.dropFirst().first == SandboxRunner.childArgument { SandboxChild.main() }
exit(await Potluck.run())
