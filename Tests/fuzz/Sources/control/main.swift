import ControlAPI
import Foundation
import FuzzDriver
#if canImport(Glibc)
import Glibc
#endif

/// The control API's bodies (`spec/0008-control-api.md`): every request as the node reads it and
/// the answers as the CLI reads them; decoding never crashes.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Data(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    let decoder = APICoding.decoder
    _ = try? decoder.decode(PingRequest.self, from: bytes)
    _ = try? decoder.decode(LookupRequest.self, from: bytes)
    _ = try? decoder.decode(PutRequest.self, from: bytes)
    _ = try? decoder.decode(OfferPublishRequest.self, from: bytes)
    _ = try? decoder.decode(ReceiptsSyncRequest.self, from: bytes)
    _ = try? decoder.decode(BatchSubmitRequest.self, from: bytes)
    _ = try? decoder.decode(APIError.self, from: bytes)
    _ = try? decoder.decode(NodeInfo.self, from: bytes)
    _ = try? decoder.decode(DHTStatus.self, from: bytes)
    _ = try? decoder.decode(BatchRecord.self, from: bytes)
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data, size) })
