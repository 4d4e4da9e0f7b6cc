#if canImport(Glibc)
import Glibc
#endif
import PotluckCLI

exit(await Potluck.run())
