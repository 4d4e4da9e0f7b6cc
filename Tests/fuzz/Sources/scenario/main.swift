import Simulator
import FuzzDriver
#if canImport(Glibc)
import Glibc
#endif

/// Scenario files (`spec/0010-simulator.md`): reading never crashes, whatever the text.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [], as: UTF8.self)
    _ = try? Scenario(toml: text)
    return 0
}

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data, size) })
