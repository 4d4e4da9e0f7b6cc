import Kademlia
import FuzzDriver
#if canImport(Glibc)
import Glibc
#endif

/// KRPC datagrams as a node receives them: decoding never crashes, and a decoded message
/// encodes to bytes that decode to the same message.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let message = try? KRPCMessage.decode(bytes) {
        let again = try? KRPCMessage.decode(message.encoded())
        precondition(again != nil, "a decoded KRPC message did not survive its own encoding")
    }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data, size) })
