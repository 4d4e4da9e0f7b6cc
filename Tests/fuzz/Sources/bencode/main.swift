import Bencode
import FuzzDriver
#if canImport(Glibc)
import Glibc
#endif

/// Bencode in both modes: decoding never crashes, and what strict mode accepts re-encodes to
/// the same bytes (`spec/0001-bencode.md`: strict accepts only canonical input).
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let value = try? BencodeDecoder(mode: .strict).decode(bytes) {
        precondition(value.encoded() == bytes, "strict bencode accepted a non-canonical input")
    }
    _ = try? BencodeDecoder(mode: .lenient).decode(bytes)
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data, size) })
