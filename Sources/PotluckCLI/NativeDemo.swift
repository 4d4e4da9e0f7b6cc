import ControlAPI
import PotluckCrypto
import Foundation
import Jobs
import Node
import Records
import Sandbox

/// The native part of `potluck demo` (`spec/0019-native-jobs.md`): the lenders also lend
/// ImageMagick (and Blender, when installed), and the borrower shrinks a few photos and renders
/// a few frames across them, each task in a bubblewrap sandbox. Skipped, saying why, where
/// bubblewrap or the tools are missing.
extension JobDemo {
    func runNative(lenders: [Peer], borrower: Peer, root: String) async throws {
        if let reason = await NativeRunner().unavailability() { return print("Native tools: skipped (\(reason)).") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/convert") else {
            return print("Native tools: skipped (ImageMagick is not installed: apt-get install imagemagick).")
        }
        let scene = FileManager.default.currentDirectoryPath + "/examples/render/scene.py"
        let blender = FileManager.default.isExecutableFile(atPath: "/usr/bin/blender") && FileManager.default.fileExists(atPath: scene)
        var tools = ["convert=/usr/bin/convert"]
        if blender { tools.append("blender=/usr/bin/blender") }
        for lender in lenders {
            let path = LenderConfig.path(inDataDirectory: lender.directory)
            var config = try nodeErrors { try LenderConfig.load(from: path) }
            config.tools = tools
            try nodeErrors { try config.save(to: path) }
            guard let endpoint = try await callNode(lender.data, .nodeInfo).jobs else { throw CLIError("\(lender.name) serves no jobs") }
            let offer = try nodeErrors { try config.offer(lender: lender.identity.publicKey, endpoint: endpoint) }
            _ = try await callNode(lender.data, .publishOffer(hex: Hex.encode(try offer.encoded())))
        }
        let lent = tools.map { String($0.prefix { $0 != "=" }) }.joined(separator: " and ")
        let names = Dictionary(uniqueKeysWithValues: lenders.map { ($0.identity.publicKey, $0.name) })
        print("Native tools: every lender now also lends \(lent), each task under bubblewrap (no network, read-only system, seccomp).")
        let count = lenders.count
        let found = try await poll("the borrower found the native offers", timeout: .seconds(20)) { () -> [OfferCandidate]? in
            let offers = (try? await findOffers(borrower.data, runtime: Offer.nativeRuntime, cores: 1, me: borrower.identity.publicKey)) ?? []
            return offers.count >= count ? offers : nil
        }

        let photos = root + "/photos"
        try FileManager.default.createDirectory(atPath: photos + "/in", withIntermediateDirectories: true)
        for index in 1...6 {
            try run("/usr/bin/convert", ["-size", "800x600", "gradient:hsb(\(index * 50),90%,90%)-hsb(\(index * 50 + 120),60%,30%)",
                                         photos + "/in/photo\(index).jpg"])
        }
        try await batch("""
            tool = "convert"
            command = "convert {input} -resize 50% -unsharp 0x1 {output}"
            memory = "512MiB"
            [tasks]
            each = "in/*.jpg"
            [outputs]
            file = "out/{stem}.jpg"
            """, in: photos, offers: found, borrower: borrower, names: names, what: "6 photos (800x600 JPEGs) shrunk to half")

        guard blender else { return print("  Blender: skipped (apt-get install blender, and run the demo from the repository's root).") }
        let render = root + "/render"
        try FileManager.default.createDirectory(atPath: render, withIntermediateDirectories: true)
        try run("/usr/bin/blender", ["-b", "-noaudio", "--factory-startup", "--python", scene, "--", render + "/scene.blend"])
        try await batch("""
            tool = "blender"
            command = "blender -b {scene} -o {outdir}/frame_#### -F PNG -f {frame}"
            memory = "512MiB"
            [inputs]
            scene = "scene.blend"
            [tasks]
            frames = "1-4"
            [outputs]
            dir = "out"
            """, in: render, offers: found, borrower: borrower, names: names, what: "4 frames of examples/render's scene rendered with Cycles")
    }

    /// Writes `text` as `directory/job.toml` and runs its tasks across `offers`.
    private func batch(_ text: String, in directory: String, offers: [OfferCandidate], borrower: Peer, names: [PublicKey: String],
                       what: String) async throws {
        try text.write(toFile: directory + "/job.toml", atomically: true, encoding: .utf8)
        let file = try nodeErrors { try JobFile.load(directory + "/job.toml") }
        let planned = try nodeErrors { try file.tasks() }
        let lenders = file.lenders(rankOffers(offers, for: file.demand(planned), borrower: borrower.identity.publicKey).ranked)
        let client = JobClient(identity: borrower.identity, receipts: try ReceiptStore(environment: borrower.environment),
                               jobs: try JobStore(environment: borrower.environment))
        let started = Date()
        let states = await TaskBatch(planned: planned, tool: file.tool, cores: 1, status: BatchStatus(total: planned.count, enabled: false))
            .run(on: lenders, client: client).states
        var byLender: [PublicKey: Int] = [:]
        for state in states {
            guard case .done(let lender) = state else {
                throw CLIError("a native task failed: \(state)")
            }
            byLender[lender, default: 0] += 1
        }
        let spread = byLender.sorted { $0.value > $1.value }.map { "\(names[$0.key] ?? short($0.key)): \($0.value)" }.joined(separator: ", ")
        print(String(format: "  %@ in %.1f s, spread over %d lender(s) (%@), each task signed for by both sides", what,
                     Date().timeIntervalSince(started), byLender.count, spread))
    }

    private func run(_ program: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLIError("\(program) failed (\(process.terminationStatus))") }
    }
}
