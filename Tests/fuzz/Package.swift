// swift-tools-version:6.0
// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
//
// libFuzzer targets for Potluck's parsers (issue 20), a package of their own so that the main
// package's build never sees `-sanitize=fuzzer`. Build and run with `Tests/fuzz/run.sh`.
import PackageDescription

let targets = ["bencode", "krpc", "records", "jobs", "channel", "scenario", "control"]

let package = Package(
    name: "potluck-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "potluck", path: "../..")],
    targets: [.target(name: "FuzzDriver")] + targets.map { name in
        .executableTarget(
            name: "fuzz-\(name)",
            dependencies: ["FuzzDriver", .product(name: "PotluckModules", package: "potluck")],
            path: "Sources/\(name)")
    }
)
