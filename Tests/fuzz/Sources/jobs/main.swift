import Jobs
import Sandbox
import FuzzDriver
#if canImport(Glibc)
import Glibc
#endif

/// Job messages and the encodings they carry, as a lender receives them from a stranger:
/// decoding never crashes, and a decoded message re-encodes to an equal one.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let message = try? JobMessage(encoded: bytes) {
        precondition((try? JobMessage(encoded: message.encoded())) == message, "a job message did not survive its own encoding")
    }
    if let job = try? GuestJob(encoded: bytes) { _ = try? job.validate() }
    _ = try? NativeTask(encoded: bytes)
    _ = try? GuestOutcome(encoded: bytes)
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data, size) })
