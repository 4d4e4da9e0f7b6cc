import Foundation
import Node
import FuzzDriver
#if canImport(Glibc)
import Glibc
#endif

/// The control API's lines (`spec/0008-control-api.md`): a request as the node reads it and a
/// response as the CLI reads it; decoding never crashes.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Data(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    _ = try? JSONDecoder().decode(ControlRequest.self, from: bytes)
    _ = try? JSONDecoder().decode(ControlResponse.self, from: bytes)
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data, size) })
