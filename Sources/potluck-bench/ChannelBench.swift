import CSodium
import PotluckCrypto
import JobChannel

/// `potluck-bench channel`: the job channel over loopback TCP (handshake, framing, NIO) beside
/// raw libsodium doing the same cryptography in memory: secretstream push+pull for throughput,
/// and one handshake's key conversions, X25519s, signatures and verifications for handshakes.
func channelBench() async throws -> [BenchResult] {
    _ = sodium_init()
    let serverKey = try! SigningKey(seed: [UInt8](repeating: 1, count: 32))
    let clientKey = try! SigningKey(seed: [UInt8](repeating: 2, count: 32))
    // The handler drains messages; an empty message asks for a one-byte acknowledgement.
    let server = try await JobChannelServer.bind(host: "127.0.0.1", port: 0, identity: serverKey) { connection in
        while let message = try? await connection.receive() {
            if message.isEmpty { try? await connection.send([1]) }
        }
    }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        defer { group.cancelAll() }
        var results: [BenchResult] = []
        let connection = try await JobChannelClient.connect(
            host: "127.0.0.1", port: server.port, identity: clientKey, expecting: serverKey.publicKey)
        for (name, size) in [("1 KiB", 1 << 10), ("64 KiB", 64 << 10), ("1 MiB", 1 << 20)] {
            let count = max(8, (32 << 20) / size)  // 32 MiB per round
            let message = [UInt8](repeating: 0x5a, count: size)
            var potluck: [Double] = [], reference: [Double] = []
            for _ in 0..<3 {
                let start = nowNanoseconds()
                for _ in 0..<count { try await connection.send(message) }
                try await connection.send([])
                _ = try await connection.receive()
                potluck.append(megabytesPerSecond(size * count, since: start))
                reference.append(secretstreamInMemory(message, count: count))
            }
            results.append(BenchResult(bench: "channel", caseName: "throughput \(name) messages", unit: "MB/s",
                                       potluck: median(potluck), reference: median(reference)))
        }
        await connection.close()

        var handshakes: [Double] = [], referenceHandshakes: [Double] = []
        for _ in 0..<3 {
            let start = nowNanoseconds(), limit = start + 2_000_000_000
            var done = 0
            while done < 300, nowNanoseconds() < limit {
                let c = try await JobChannelClient.connect(
                    host: "127.0.0.1", port: server.port, identity: clientKey, expecting: serverKey.publicKey)
                await c.close()
                done += 1
            }
            handshakes.append(Double(done) / (Double(nowNanoseconds() - start) / 1e9))
            referenceHandshakes.append(handshakeCryptoInMemory(count: 300, client: clientKey, server: serverKey))
        }
        results.append(BenchResult(bench: "channel", caseName: "handshakes (connect + close)", unit: "handshakes/s",
                                   potluck: median(handshakes), reference: median(referenceHandshakes)))
        await server.close()
        return results
    }
}

private func megabytesPerSecond(_ bytes: Int, since start: UInt64) -> Double {
    Double(bytes) / 1e6 / (Double(nowNanoseconds() - start) / 1e9)
}

/// Raw secretstream: push `count` messages and pull each back, in memory.
private func secretstreamInMemory(_ message: [UInt8], count: Int) -> Double {
    var key = [UInt8](repeating: 0, count: Int(crypto_secretstream_xchacha20poly1305_keybytes()))
    crypto_secretstream_xchacha20poly1305_keygen(&key)
    var push = crypto_secretstream_xchacha20poly1305_state(), pull = crypto_secretstream_xchacha20poly1305_state()
    var header = [UInt8](repeating: 0, count: Int(crypto_secretstream_xchacha20poly1305_headerbytes()))
    crypto_secretstream_xchacha20poly1305_init_push(&push, &header, key)
    crypto_secretstream_xchacha20poly1305_init_pull(&pull, header, key)
    let overhead = Int(crypto_secretstream_xchacha20poly1305_abytes())
    let start = nowNanoseconds()
    for _ in 0..<count {
        var cipher = [UInt8](repeating: 0, count: message.count + overhead)
        var plain = [UInt8](repeating: 0, count: message.count)
        var tag: UInt8 = 0
        crypto_secretstream_xchacha20poly1305_push(&push, &cipher, nil, message, UInt64(message.count), nil, 0, 0)
        crypto_secretstream_xchacha20poly1305_pull(&pull, &plain, nil, &tag, cipher, UInt64(cipher.count), nil, 0)
        blackHole(plain)
    }
    return megabytesPerSecond(message.count * count, since: start)
}

/// The cryptography of one handshake, both sides, with raw libsodium calls: per side an
/// ephemeral key pair, the ed25519 → X25519 conversions, two X25519s, one signature made and
/// one verified, and the BLAKE2b transcript and key hashes. Handshakes per second.
private func handshakeCryptoInMemory(count: Int, client: SigningKey, server: SigningKey) -> Double {
    var secrets: [[UInt8]] = []
    for _ in 0..<2 { var sk = [UInt8](repeating: 0, count: 64), pk = [UInt8](repeating: 0, count: 32); crypto_sign_keypair(&pk, &sk); secrets.append(sk + pk) }
    let message = [UInt8](repeating: 3, count: 33)
    var out = [UInt8](repeating: 0, count: 64), x = [UInt8](repeating: 0, count: 32), y = [UInt8](repeating: 0, count: 32)
    let start = nowNanoseconds()
    for _ in 0..<count {
        for side in 0..<2 {
            let sk = Array(secrets[side][0..<64]), pk = Array(secrets[1 - side][64..<96])
            var e = [UInt8](repeating: 0, count: 32), ePublic = [UInt8](repeating: 0, count: 32)
            randombytes_buf(&e, 32)
            crypto_scalarmult_curve25519_base(&ePublic, e)
            crypto_sign_ed25519_sk_to_curve25519(&x, sk)
            crypto_sign_ed25519_pk_to_curve25519(&y, pk)
            crypto_scalarmult_curve25519(&out, x, y)
            crypto_scalarmult_curve25519(&out, e, ePublic)
            crypto_sign_detached(&out, nil, message, 33, sk)
            blackHole(crypto_sign_verify_detached(out, message, 33, pk))
            crypto_generichash(&out, 32, message, 33, nil, 0)
            crypto_generichash(&out, 64, message, 33, x, 32)
        }
    }
    return Double(count) / (Double(nowNanoseconds() - start) / 1e9)
}
