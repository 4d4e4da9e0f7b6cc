// swift-tools-version:6.1
// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PackageDescription

/// Settings every Potluck target shares: Swift 6 language mode (set package-wide below) plus
/// the upcoming features that make intent explicit.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "potluck",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "potluck", targets: ["potluck"]),
        .executable(name: "potluck-bench", targets: ["potluck-bench"]),
        .library(name: "PotluckCLI", targets: ["PotluckCLI"]),
        /// The protocol modules, for the fuzz targets (`Tests/fuzz`, a package of its own).
        .library(name: "PotluckModules", targets: ["Bencode", "Kademlia", "Records", "Jobs", "JobChannel", "Sandbox", "Simulator", "Node", "ControlAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swiftwasm/WasmKit", from: "0.4.2"),
        // The control API's HTTP server; without swift-configuration (Potluck reads its own TOML).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C shims: a module map and a header, nothing else.
        .systemLibrary(
            name: "CSodium", pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(
            name: "CLMDB", pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(
            name: "CSeccomp", pkgConfig: "libseccomp",
            providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CMalloc"),

        // Pure value modules.
        .target(name: "Bencode", swiftSettings: strict),
        /// TOMLKit behind a guard against the inputs that make its C++ parser abort.
        .target(name: "SafeTOML", dependencies: [.product(name: "TOMLKit", package: "TOMLKit")], swiftSettings: strict),
        /// SplitMix64, the seeded generator behind every deterministic choice (core, tests, simulations).
        .target(name: "SeededRandom", swiftSettings: strict),

        /// The Mainline DHT core: sans-I/O, deterministic; the node and the simulator drive it.
        .target(
            name: "Kademlia",
            dependencies: [
                "Bencode", "PotluckCrypto", "Coordinates", "SeededRandom",
                .product(name: "Collections", package: "swift-collections"),
            ],
            swiftSettings: strict),

        /// Reachability (pure): NAT classes from the DHT's reports, NAT-PMP and UPnP IGD messages,
        /// and what the node tells others about how to reach it (spec 0021).
        .target(name: "Reachability", dependencies: ["Kademlia"], swiftSettings: strict),

        // Thin safe layers over C.
        .target(name: "PotluckCrypto", dependencies: ["CSodium"], swiftSettings: strict),
        .target(name: "Storage", dependencies: ["CLMDB"], swiftSettings: strict),

        /// The real driver: NIO UDP for the DHT, the control socket, LMDB persistence.
        .target(
            name: "Node",
            dependencies: [
                "Kademlia", "Bencode", "PotluckCrypto", "Storage", "Records", "Coordinates", "Trust", "Jobs", "Lending", "Sandbox", "JobChannel", "SeededRandom",
                "Reachability", "Matching", "CMalloc", "SafeTOML", "ControlAPI",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict),

        /// The control API (spec 0008): its messages and routes (`Codable`), and the HTTP client
        /// the CLI speaks it with, over the node's Unix socket or its localhost port.
        .target(
            name: "ControlAPI",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),

        /// Offers and reciprocity receipts: canonical encodings, signatures, validation (pure).
        .target(name: "Records", dependencies: ["Bencode", "PotluckCrypto"], swiftSettings: strict),
        /// Trust scores from receipts: flow-based (BarterCast/NetFlow), Network of Favors,
        /// EigenTrust (pure).
        .target(name: "Trust", dependencies: ["Records", "PotluckCrypto"], swiftSettings: strict),

        /// Vivaldi network coordinates (pure): latency estimates with no extra traffic.
        .target(name: "Coordinates", dependencies: ["SeededRandom"], swiftSettings: strict),

        /// The discrete-event simulator: the same DHT state machines on a virtual clock and network.
        .target(
            name: "Simulator",
            dependencies: [
                "Kademlia", "Bencode", "PotluckCrypto", "SeededRandom", "Matching", "Trust", "Jobs", "Lending", "Records", "Coordinates", "SafeTOML",
                .product(name: "Collections", package: "swift-collections"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            // Release builds skip the run-time exclusivity checks of the simulation's class
            // properties (one per access, about a tenth of a run's time); debug builds and the
            // tests keep them, and the compile-time checks stay on.
            swiftSettings: strict + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),

        /// The matching engine (pure): requests to offers by constraints, latency and trust.
        .target(name: "Matching", dependencies: ["Records", "PotluckCrypto", "Coordinates"], swiftSettings: strict),

        /// The sandboxes: WasmKit with fuel and a memory cap, run in a child process
        /// (`potluck-sandbox`) with rlimits and a deadline enforced from outside; and lent native
        /// tools under bubblewrap with seccomp, rlimits, and the same outside deadline.
        .target(
            name: "Sandbox",
            dependencies: [
                "Bencode", "PotluckCrypto", "Records", "CSeccomp", "CSpawn",
                .product(name: "WasmKit", package: "WasmKit"),
                .product(name: "WasmKitWASI", package: "WasmKit"),
                .product(name: "WASI", package: "WasmKit"),
            ],
            swiftSettings: strict),
        .executableTarget(name: "potluck-sandbox", dependencies: ["Sandbox"], swiftSettings: strict),
        /// Example guest jobs (C compiled to wasm32-wasi, committed as bytes in Swift source).
        .target(name: "ExampleJobs", exclude: ["c"], swiftSettings: strict),
        /// The sandbox bench's CPU kernel, compiled natively (same C source as the wasm job).
        .target(name: "CBenchKernel"),
        /// Starting a sandbox's process: posix_spawn's way, plus joining cgroups, rlimits and
        /// leaving root in the child before it executes (raw system calls only).
        .target(name: "CSpawn"),

        /// The job channel: a TCP connection between two peers, mutually authenticated by their
        /// ed25519 identities and encrypted (X25519 key exchange, then secretstream).
        .target(
            name: "JobChannel",
            dependencies: [
                "PotluckCrypto", "CSodium", "Bencode",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict),

        /// The job protocol (pure): messages, the lender's policy and line, job records.
        .target(name: "Jobs", dependencies: ["Bencode", "PotluckCrypto", "Records"], swiftSettings: strict),
        // The job exchange's sans-I/O cores, driven by the node and by the lending simulator.
        .target(name: "Lending", dependencies: ["Jobs", "PotluckCrypto", "Trust"], swiftSettings: strict),

        // Command line: a testable library and a thin executable.
        .target(
            name: "PotluckCLI",
            dependencies: [
                "Bencode", "PotluckCrypto", "Storage", "Kademlia", "Node", "Simulator", "Records", "Trust", "Jobs", "Lending", "Sandbox", "ExampleJobs", "Matching", "JobChannel", "ControlAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        .executableTarget(name: "potluck", dependencies: ["PotluckCLI", "Sandbox"], swiftSettings: strict),
        .executableTarget(
            name: "potluck-bench",
            dependencies: [
                "Bencode", "PotluckCrypto", "Storage", "Kademlia", "Node", "Simulator", "Records", "Trust", "CSodium", "CLMDB",
                "JobChannel", "Sandbox", "ExampleJobs", "CBenchKernel", "Matching", "SeededRandom", "ControlAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict),
        /// Test support: commits LMDB transactions in a loop until killed (the crash test).
        .executableTarget(
            name: "potluck-crash-writer", dependencies: ["Storage"], swiftSettings: strict),

        .testTarget(name: "BencodeTests", dependencies: ["SeededRandom", "Bencode"], swiftSettings: strict),
        .testTarget(
            name: "CryptoTests", dependencies: ["PotluckCrypto", "Bencode"],
            resources: [], swiftSettings: strict),
        .testTarget(name: "KademliaTests", dependencies: ["SeededRandom", "Kademlia", "Bencode", "PotluckCrypto", "Coordinates"], swiftSettings: strict),
        .testTarget(name: "NodeTests", dependencies: ["SeededRandom", "Node", "Kademlia", "PotluckCrypto", "Storage", "Jobs", "Lending", "Records", "JobChannel",
                                                 .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .testTarget(name: "RecordsTests", dependencies: ["Records", "Bencode", "PotluckCrypto"], swiftSettings: strict),
        .testTarget(name: "TrustTests", dependencies: ["SeededRandom", "Trust", "Records", "PotluckCrypto"], swiftSettings: strict),
        .testTarget(name: "CoordinatesTests", dependencies: ["SeededRandom", "Coordinates"], swiftSettings: strict),
        .testTarget(name: "SimulatorTests", dependencies: ["SeededRandom", "Simulator", "Kademlia"], swiftSettings: strict),
        .testTarget(name: "StorageTests", dependencies: ["Storage"], swiftSettings: strict),
        .testTarget(name: "ReachabilityTests", dependencies: ["Reachability", "Kademlia"], swiftSettings: strict),
        .testTarget(name: "MatchingTests", dependencies: ["SeededRandom", "Matching", "Records", "PotluckCrypto", "Coordinates"], swiftSettings: strict),
        .testTarget(
            name: "SandboxTests",
            dependencies: ["Sandbox", "ExampleJobs", "PotluckCrypto", .product(name: "WAT", package: "WasmKit")],
            swiftSettings: strict),
        .testTarget(name: "JobsTests", dependencies: ["Jobs", "Records", "PotluckCrypto"], swiftSettings: strict),
        .testTarget(name: "LendingCoreTests", dependencies: ["Lending", "Jobs", "PotluckCrypto", "Trust"], swiftSettings: strict),
        .testTarget(name: "SafeTOMLTests", dependencies: ["SafeTOML"]),
        .testTarget(
            name: "JobChannelTests",
            dependencies: [
                "JobChannel", "PotluckCrypto", "SeededRandom",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "PotluckCLITests",
            dependencies: ["PotluckCLI", "Node", "ControlAPI", "PotluckCrypto", "Records", "ExampleJobs", "Kademlia", .product(name: "WAT", package: "WasmKit")],
            swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
