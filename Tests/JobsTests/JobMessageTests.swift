import PotluckCrypto
import Records
import Testing
@testable import Jobs

@Suite struct JobMessageTests {
    let lender = SigningKey.generate(), borrower = SigningKey.generate()

    var receipt: Receipt {
        let body = ReceiptBody(provider: lender.publicKey, consumer: borrower.publicKey, jobDigest: Blake2b.hash256([1, 2, 3]),
                               coreMilliseconds: 1500, memoryByteSeconds: 10, start: 1_000, end: 2_000, sequence: 1)
        return Receipt(body: body).signed(by: lender)
    }

    @Test func everyMessageRoundTrips() throws {
        let messages: [JobMessage] = [
            .ask(bytes: 100_000, cores: 1, memoryBytes: 64 << 20, coreMilliseconds: 10_000, wallMilliseconds: 60_000), .go,
            .submit(job: [0, 97, 115, 109], cores: 2), .queued(position: 3), .started, .paused(true), .paused(false),
            .refused(JobRefusal(.busy, "every slot stayed taken")), .stderr(Array("oops\n".utf8)),
            .usage(fuelUsed: 123_456, cpuMilliseconds: 78), .result(outcome: [1, 2, 3], start: 10, end: 20),
            .receipt(.propose(receipt)), .receipt(.countersign(receipt.signed(by: borrower))),
            .receipt(.refuse(receipt.id, ExchangeRefusal(.usageTooHigh, "too much"))),
        ]
        for message in messages {
            #expect(try JobMessage(encoded: message.encoded()) == message)
        }
    }

    @Test func exactBytesOfSubmit() {
        #expect(String(decoding: JobMessage.submit(job: Array("wasm".utf8), cores: 1).encoded(), as: UTF8.self)
                == "d5:coresi1e3:job4:wasm1:t6:submite")
    }

    @Test func exactBytesOfAskAndGo() {
        let ask = JobMessage.ask(bytes: 100_000, cores: 1, memoryBytes: 67_108_864, coreMilliseconds: 10_000, wallMilliseconds: 60_000)
        #expect(String(decoding: ask.encoded(), as: UTF8.self)
                == "d5:bytesi100000e5:coresi1e3:cpui10000e6:memoryi67108864e1:t3:ask4:walli60000ee")
        #expect(String(decoding: JobMessage.go.encoded(), as: UTF8.self) == "d1:t2:goe")
    }

    @Test func exactBytesOfPaused() {
        #expect(String(decoding: JobMessage.paused(true).encoded(), as: UTF8.self) == "d2:oni1e1:t6:pausede")
        #expect(String(decoding: JobMessage.paused(false).encoded(), as: UTF8.self) == "d2:oni0e1:t6:pausede")
    }

    @Test(arguments: [
        ("", "not canonical bencode"),
        ("d5:bytesi-1e5:coresi1e3:cpui1e6:memoryi1e1:t3:ask4:walli1ee", "`bytes` is -1"),
        ("le", "not a dictionary"),
        ("d1:t4:nopee", "unknown message type 'nope'"),
        ("d1:t6:submite", "submit: missing `job`"),
        ("d5:coresi0e3:job0:1:t6:submite", "`cores` is 0"),
        ("d1:t7:started1:xi1ee", "unknown key `x`"),
        ("d2:oni2e1:t6:pausede", "`on` is 2"),
        ("d4:datai1e1:t6:stderre", "`data` must be a byte string"),
    ])
    func malformedMessagesSayWhy(input: String, reason: String) {
        #expect {
            try JobMessage(encoded: Array(input.utf8))
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func jobRecordRoundTrips() throws {
        let record = JobRecord(role: .lent, peer: borrower.publicKey, jobDigest: Blake2b.hash256([9]), cores: 2, start: 5, end: 9,
                               outcome: "exited 0", exitCode: 0, coreMilliseconds: 7, receipt: receipt.id)
        #expect(try JobRecord(encoded: record.encoded()) == record)
        var other = record
        other.role = .borrowed
        #expect(other.key != record.key)
        #expect(record.key.count == 41)
    }
}

/// The file-transfer messages (spec 0020 §3).
@Suite struct TransferMessageTests {
    @Test func wantAndChunkRoundTripWithExactBytes() throws {
        let digest = try #require(Bytes32([UInt8](repeating: 7, count: 32)))
        let want = JobMessage.want([digest: 1_048_576])
        #expect(String(decoding: want.encoded(), as: UTF8.self) == "d5:filesd32:" + String(repeating: "\u{07}", count: 32) + "i1048576ee1:t4:wante")
        #expect(try JobMessage(encoded: want.encoded()) == want)
        let chunk = JobMessage.chunk(file: digest, offset: 0, size: 3, data: [1, 2, 3])
        #expect(try JobMessage(encoded: chunk.encoded()) == chunk)
        #expect(throws: JobProtocolError.self) {
            try JobMessage(encoded: JobMessage.chunk(file: digest, offset: 2, size: 3, data: [1, 2, 3]).encoded())
        }
    }

    /// Spec 0020 §5's example: a native task's result names its outputs by content.
    @Test func aResultNamesItsOutputsWithExactBytes() throws {
        let digest = try #require(Bytes32([UInt8](repeating: 7, count: 32)))
        let result = JobMessage.result(outcome: Array("o".utf8), start: 1, end: 2, files: [OutputFile(name: "a.png", digest: digest, size: 5)])
        #expect(String(decoding: result.encoded(), as: UTF8.self)
                == "d3:endi2e5:filesd5:a.pngl32:" + String(repeating: "\u{07}", count: 32) + "i5eee7:outcome1:o5:starti1e1:t6:resulte")
        #expect(try JobMessage(encoded: result.encoded()) == result)
        // No outputs, no key: a wasm job's result keeps its bytes.
        #expect(String(decoding: JobMessage.result(outcome: Array("o".utf8), start: 1, end: 2).encoded(), as: UTF8.self)
                == "d3:endi2e7:outcome1:o5:starti1e1:t6:resulte")
    }

    @Test(arguments: [
        ("d3:endi2e5:filesde7:outcome1:o5:starti1e1:t6:resulte", "1 to 10000 entries"),
        ("d3:endi2e5:filesd1:al3:abci5eee7:outcome1:o5:starti1e1:t6:resulte", "32-byte digest"),
        ("d3:endi2e5:filesd1:al32:" + String(repeating: "x", count: 32) + "i-5eee7:outcome1:o5:starti1e1:t6:resulte", "size ≥ 0"),
        ("d3:endi2e5:filesd1:ai5ee7:outcome1:o5:starti1e1:t6:resulte", "[32-byte digest"),
    ])
    func aMalformedOutputListSaysWhy(input: String, reason: String) {
        #expect {
            try JobMessage(encoded: Array(input.utf8))
        } throws: { error in
            "\(error)".contains(reason)
        }
    }
}
