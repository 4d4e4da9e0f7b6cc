import ArgumentParser
import PotluckCrypto
import Foundation
import Kademlia
import Logging
import Node
import Sandbox
import ServiceLifecycle
import Storage
import UnixSignals

/// `potluck node`: runs a DHT node in the foreground until SIGINT or SIGTERM.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a Potluck node in the foreground.",
        discussion: """
            Prints the address it bound (port 0 picks a free one), logs to stderr, and shuts down \
            cleanly on SIGINT or SIGTERM. The node's local CLI talks to it through DIR/control.sock.
            """)

    @OptionGroup var data: DataDirectoryOptions

    @Option(name: .customLong("listen"), help: ArgumentHelp(
        "UDP address to listen on (repeat for IPv4 and IPv6; default 0.0.0.0:\(NodeOptions.defaultPort)).", valueName: "HOST:PORT"))
    var listen: [String] = []

    @Option(name: .customLong("bootstrap"), help: ArgumentHelp("A Potluck node to join through (repeatable).", valueName: "HOST:PORT"))
    var bootstrap: [String] = []

    @Flag(name: .customLong("no-default-bootstrap"), help: "Do not look for peers through the public Mainline DHT.")
    var noDefaultBootstrap = false
    @Flag(help: "Relay for lenders others cannot reach, once this node is reachable (spec 0021 §5).")
    var relay = false
    @Flag(name: .customLong("no-port-mapping"), help: "Do not ask the home router to map ports (NAT-PMP).")
    var noPortMapping = false

    @Option(name: .customLong("rendezvous-router"), help: ArgumentHelp(
        "A public Mainline DHT router for the rendezvous (repeatable; default: the well-known routers).",
        valueName: "HOST:PORT", visibility: .hidden))
    var rendezvousRouters: [String] = []

    @Option(name: .customLong("jobs-port"), help: ArgumentHelp(
        "TCP port of the job channel (default: the UDP port's number if free, else any).", valueName: "PORT"))
    var jobsPort: Int?

    @Flag(name: .customLong("no-jobs"), help: "Do not serve the job channel (this node only borrows).")
    var noJobs = false

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning or error.")
    var logLevel: String = "info"

    @Option(name: .customLong("log-format"), help: "text (for people) or json (one object per line, for log collectors).")
    var logFormat: String = "text"

    @Flag(help: "Run in the background (output in DIR/node.log); return once the node answers.")
    var detach = false

    @Option(name: .customLong("http"), help: ArgumentHelp(
        "Serve the dashboard and the control API here, with the token in DIR/api.token (port 0: any free port).",
        valueName: "HOST:PORT"))
    var http = "127.0.0.1:0"

    @Flag(name: .customLong("no-http"), help: "Serve no dashboard: the control API on DIR/control.sock only.")
    var noHTTP = false

    @Option(name: .customLong("receipts-interval"), help: ArgumentHelp(
        "How often to publish this node's receipts and gather the countersignatures borrowers owe it.", valueName: "DURATION"))
    var receiptsInterval = "5m"

    func validate() throws {
        guard let address = Endpoint(http), address.address.isLoopback else {
            throw ValidationError("--http '\(http)' must be a loopback address and port, e.g. 127.0.0.1:7480 or [::1]:7480 (the dashboard is for this machine only)")
        }
        guard let interval = Quantities.duration(receiptsInterval), interval >= .seconds(1) else {
            throw ValidationError("--receipts-interval '\(receiptsInterval)' is not a duration of at least 1s: use e.g. 30s, 5m or 1h")
        }
        for text in listen where Endpoint(text) == nil {
            throw ValidationError("'\(text)' is not an address: use HOST:PORT, e.g. 127.0.0.1:6891 or [::1]:6891")
        }
        for text in bootstrap + rendezvousRouters where !HostResolver.isHostAndPort(text) {
            throw ValidationError("'\(text)' is not HOST:PORT: use a name or an address, e.g. node.example.org:6891, 127.0.0.1:6891 or [::1]:6891")
        }
        guard ["text", "json"].contains(logFormat) else {
            throw ValidationError("'\(logFormat)' is not a log format: use text or json")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("'\(logLevel)' is not a log level: use trace, debug, info, notice, warning or error")
        }
        if let jobsPort, !(0...65535).contains(jobsPort) {
            throw ValidationError("--jobs-port must be between 0 and 65535")
        }
        let families = listen.compactMap { Endpoint($0)?.address.family }
        guard Set(families).count == families.count else {
            throw ValidationError("give at most one IPv4 and one IPv6 --listen address")
        }
    }

    func run() async throws {
        if detach { return try await startDetached() }
        let directory = data.directory
        let identity: SigningKey
        do { identity = try IdentityFile.load(from: directory.identityPath) } catch { throw CLIError(error.description) }
        let environment: Environment
        do { environment = try Environment(path: directory.databasePath) } catch {
            throw CLIError("cannot open the database in \(directory.databasePath): \(error)")
        }
        defer { environment.close() }

        var options = NodeOptions(dataDirectory: directory.path)
        if !listen.isEmpty { options.listen = listen.compactMap(Endpoint.init) }
        options.bootstrap = bootstrap
        options.useDefaultBootstrap = !noDefaultBootstrap
        options.mapsPorts = !noPortMapping
        options.relays = relay
        options.receiptsInterval = Quantities.duration(receiptsInterval) ?? options.receiptsInterval
        if !rendezvousRouters.isEmpty { options.rendezvousRouters = rendezvousRouters }
        options.jobsPort = jobsPort
        options.servesJobs = !noJobs
        options.http = noHTTP ? nil : Endpoint(http)
        options.sandbox = .runningExecutableAsChild()

        let json = logFormat == "json"
        var logger = Logger(label: "potluck.node") { label -> any LogHandler in
            json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
        }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let service = DHTService(options: options, identity: identity, persistence: try NodePersistence(environment: environment),
                                 logger: logger) { bound, nodeID in
            // Written straight to the file descriptor: scripts wait for these lines.
            let lines = bound.map { "listening on \($0)\n" }.joined()
                + "peer id: \(identity.publicKey.peerID)\nnode id: \(nodeID.hex)\n"
            FileHandle.standardOutput.write(Data(lines.utf8))
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as NodeError {
            throw CLIError(error.description)
        }
    }
}
