import Records
import FuzzDriver
#if canImport(Glibc)
import Glibc
#endif

/// Offers and receipts as they come off the DHT: decoding and checking never crash.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let offer = try? Offer(encoded: bytes) { _ = try? offer.validate() }
    if let receipt = try? Receipt(encoded: bytes) { _ = try? receipt.validate() }
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data, size) })
