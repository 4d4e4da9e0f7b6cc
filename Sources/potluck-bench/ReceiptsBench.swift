import CSodium
import PotluckCrypto
import Node
import Records
import Storage

/// `potluck-bench receipts`: receipts verified (both signatures) and stored in the LMDB ledger
/// per second, in batches of 1,000 per durable transaction, beside the verify-bound limit — raw
/// libsodium verifies per second, halved since each receipt carries two signatures — measured in
/// the same run. Goal: at least 80% of the limit. Then the ledger a lender reads at each job,
/// as ``ReceiptStore`` keeps it between writes, beside rebuilding it from the 5,000 on disk.
func receiptsBench() async throws -> [BenchResult] {
    let provider = SigningKey.generate(), consumer = SigningKey.generate()
    let receipts = (1...5000).map { sequence in
        Receipt(body: ReceiptBody(provider: provider.publicKey, consumer: consumer.publicKey, jobDigest: Blake2b.hash256([UInt8(sequence & 255)]),
                                  coreMilliseconds: 1000, memoryByteSeconds: 0, start: 1_700_000_000_000, end: 1_700_000_001_000,
                                  sequence: Int64(sequence)))
            .signed(by: provider).signed(by: consumer)
    }
    let directory = makeTemporaryDirectory()
    defer { removeTree(directory) }
    let environment = try Environment(path: directory + "/potluck")
    defer { environment.close() }
    let store = try ReceiptStore(environment: environment)

    let start = nowNanoseconds()
    for batch in stride(from: 0, to: receipts.count, by: 1000) {
        let outcomes = try store.add(contentsOf: Array(receipts[batch..<min(receipts.count, batch + 1000)]))
        precondition(outcomes.allSatisfy { if case .success = $0 { true } else { false } }, "a valid receipt was refused")
    }
    let stored = Double(receipts.count) / (Double(nowNanoseconds() - start) / 1e9)

    let message = receipts[0].body.signedBytes, signature = receipts[0].providerSignature!.bytes, key = provider.publicKey.bytes
    let verifies = 5000
    let verifyStart = nowNanoseconds()
    for _ in 0..<verifies { blackHole(crypto_sign_verify_detached(signature, message, UInt64(message.count), key)) }
    let limit = Double(verifies) / (Double(nowNanoseconds() - verifyStart) / 1e9) / 2
    // The ledger a lender asks for at each job: kept in memory while no receipt is written,
    // beside rebuilding it from disk (as every job did before the store kept it).
    func perSecond(_ body: () throws -> Void) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<5 {
            let start = nowNanoseconds()
            try body()
            times.append(Double(nowNanoseconds() - start) / 1e9)
        }
        return 1 / times.sorted()[2]
    }
    _ = try store.ledger()
    let kept = try perSecond { blackHole(try store.ledger().highestSequence(provider: provider.publicKey, consumer: consumer.publicKey)) }
    let rebuilt = try perSecond {
        var ledger = ReceiptLedger()
        for receipt in try store.all() { _ = try? ledger.insert(receipt, signaturesVerified: true) }
        blackHole(ledger.highestSequence(provider: provider.publicKey, consumer: consumer.publicKey))
    }
    return [BenchResult(bench: "receipts", caseName: "verified + stored (1,000 per txn)", unit: "receipts/s",
                        potluck: stored, reference: limit),
            BenchResult(bench: "receipts", caseName: "the ledger at a job, 5,000 receipts: kept vs rebuilt from disk", unit: "reads/s",
                        potluck: kept, reference: rebuilt)]
}
