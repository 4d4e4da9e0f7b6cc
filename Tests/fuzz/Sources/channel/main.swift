@_spi(Fuzzing) import JobChannel
import FuzzDriver
#if canImport(Glibc)
import Glibc
#endif

/// The job channel's handshake (both roles), frame layer (before and after admission) and a
/// relay's tunnel frames fed a stranger's bytes: never a crash, never an allocation past the limits.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    ChannelFuzzing.handshakes(bytes)
    ChannelFuzzing.frames(bytes, limit: JobChannelServer.preAdmissionFrameBytes)
    ChannelFuzzing.frames(bytes)
    ChannelFuzzing.tunnelFrames(bytes)
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data, size) })
