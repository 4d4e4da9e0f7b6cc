import ArgumentParser
import Foundation

/// A node's data directory and the files in it (`spec/0002-identity.md`).
///
///     DIR/identity    the ed25519 identity (mode 0600)
///     DIR/db/         the LMDB environment (data.mdb, lock.mdb)
struct DataDirectory {
    let path: String

    var identityPath: String { path + "/identity" }
    var databasePath: String { path + "/db" }

    /// `$XDG_DATA_HOME/potluck`, or `~/.local/share/potluck` when XDG_DATA_HOME is unset.
    static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") { return xdg + "/potluck" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.local/share/potluck"
    }
}

/// `--data-dir DIR`, shared by every command that works on a node's data.
struct DataDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: ArgumentHelp(
        "The node's data directory (default: $POTLUCK_DATA_DIR, else $XDG_DATA_HOME/potluck).", valueName: "DIR"))
    var dataDir: String?

    var directory: DataDirectory {
        let environment = ProcessInfo.processInfo.environment["POTLUCK_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        let raw = dataDir ?? environment ?? DataDirectory.defaultPath()
        let absolute = raw.hasPrefix("/") ? raw : FileManager.default.currentDirectoryPath + "/" + raw
        return DataDirectory(path: (absolute as NSString).standardizingPath)
    }
}

