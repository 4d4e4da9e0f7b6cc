import CSodium
import PotluckCrypto

/// `potluck-bench crypto`: Potluck's crypto layer beside the raw libsodium call doing the
/// same work on the same buffers. The goal is a layer that costs under 10% (ratio ≥ 0.9).
func cryptoBench() -> [BenchResult] {
    _ = sodium_init()
    let key = try! SigningKey(seed: [UInt8](repeating: 7, count: 32))
    let message = (0..<64).map { UInt8($0) }
    let signature = key.sign(message)
    var rawSecret = [UInt8](repeating: 0, count: Int(crypto_sign_SECRETKEYBYTES))
    var rawPublic = [UInt8](repeating: 0, count: 32)
    _ = crypto_sign_seed_keypair(&rawPublic, &rawSecret, [UInt8](repeating: 7, count: 32))
    let rawSignature = signature.bytes
    var out = [UInt8](repeating: 0, count: 64)

    var results: [BenchResult] = []
    results.append(compare(bench: "crypto", caseName: "ed25519 verify (64 B)", iterations: 1500, potluck: {
        blackHole(key.publicKey.isValidSignature(signature, for: message))
    }, reference: {
        blackHole(crypto_sign_verify_detached(rawSignature, message, UInt64(message.count), rawPublic))
    }))
    results.append(compare(bench: "crypto", caseName: "ed25519 sign (64 B)", iterations: 3000, potluck: {
        blackHole(key.sign(message))
    }, reference: {
        blackHole(crypto_sign_detached(&out, nil, message, UInt64(message.count), rawSecret))
    }))
    results.append(compare(bench: "crypto", caseName: "BLAKE2b-256 (64 B)", iterations: 300_000, potluck: {
        blackHole(Blake2b.hash256(message))
    }, reference: {
        blackHole(crypto_generichash(&out, 32, message, UInt64(message.count), nil, 0))
    }))
    let page = [UInt8](repeating: 0xa5, count: 4096)
    results.append(compare(bench: "crypto", caseName: "BLAKE2b-256 (4 KiB)", iterations: 20_000, potluck: {
        blackHole(Blake2b.hash256(page))
    }, reference: {
        blackHole(crypto_generichash(&out, 32, page, UInt64(page.count), nil, 0))
    }))
    return results
}
