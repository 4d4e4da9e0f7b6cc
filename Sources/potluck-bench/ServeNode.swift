import PotluckCrypto
import Foundation
import Kademlia
import Logging
import Node
import Storage

/// `potluck-bench serve-node PORT [BOOTSTRAP...]`: a Potluck DHT node for the `dht-serve`
/// benchmark, run as its own process (so it can be pinned to one core like libtorrent), with
/// every query rate limit raised (the loader is one address) and a throwaway data directory.
func serveNode(_ arguments: [String]) async throws {
    guard let portText = arguments.first, let port = UInt16(portText) else {
        PotluckBench.printError("usage: potluck-bench serve-node PORT [HOST:PORT...]")
        exit(2)
    }
    let directory = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    // The bench ends this node with SIGTERM: remove the data directory and exit.
    signal(SIGTERM, SIG_IGN)
    let termination = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .main)
    termination.setEventHandler {
        try? FileManager.default.removeItem(atPath: directory)
        exit(0)
    }
    termination.resume()
    let environment = try Environment(path: directory + "/db")
    var options = NodeOptions(dataDirectory: directory)
    options.listen = [Endpoint(address: .v4(0x7f00_0001), port: port)]
    options.bootstrap = Array(arguments.dropFirst())
    options.useDefaultBootstrap = false
    options.dht.raiseRateLimits()
    var logger = Logger(label: "potluck.bench.node") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .warning
    let service = DHTService(options: options, identity: SigningKey.generate(), persistence: try NodePersistence(environment: environment),
                             logger: logger) { bound, _ in
        FileHandle.standardOutput.write(Data("listening on \(bound.first?.description ?? "?")\n".utf8))
    }
    try await service.run()
}
