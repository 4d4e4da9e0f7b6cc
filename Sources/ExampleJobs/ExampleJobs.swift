// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation

/// Example guest jobs: small C programs compiled to wasm32-wasi (preview 1).
///
/// The C sources and the build script are in `Sources/ExampleJobs/c/`; the script embeds the
/// modules in `ExampleJobs+Modules.swift` as base64, so they ship inside any binary that links
/// this target (debug, release, `swift test`) with no resource bundle to find at run time.
/// CI does not rebuild them: the generated file is committed.
public enum ExampleJobs {
    /// `primes [N]`: prints the number of primes below N (default 1 000 000) and a newline.
    /// Below 100 000 there are 9592.
    public static var primes: [UInt8] { decode(primesBase64) }

    /// `mandelbrot [WIDTH [HEIGHT [MAX_ITERATIONS]]]` (defaults 640 480 256): writes
    /// `mandelbrot.pgm` (binary PGM) to the scratch directory and prints one line,
    /// `mandelbrot WxH iterations=N inside=COUNT checksum=HEX` (FNV-1a of the pixels).
    public static var mandelbrot: [UInt8] { decode(mandelbrotBase64) }

    private static func decode(_ base64: String) -> [UInt8] {
        guard let data = Data(base64Encoded: base64, options: .ignoreUnknownCharacters) else {
            preconditionFailure("ExampleJobs+Modules.swift holds invalid base64; rerun c/build.sh")
        }
        return [UInt8](data)
    }
}
