import ArgumentParser
import PotluckCrypto
import Foundation
import Storage

/// `potluck init`: creates the data directory, a new identity and the LMDB environment.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a data directory with a new identity.",
        discussion: "Never overwrites an existing identity: if one is there, it says so and exits non-zero.")

    @OptionGroup var data: DataDirectoryOptions

    func run() async throws {
        let directory = data.directory
        do {
            try FileManager.default.createDirectory(
                atPath: directory.path, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIError("cannot create the data directory \(directory.path): \(error.localizedDescription)")
        }
        // An existing directory is tightened too: the identity and the control socket live there.
        let mode = ((try? FileManager.default.attributesOfItem(atPath: directory.path))?[.posixPermissions] as? NSNumber)?.intValue ?? 0
        if mode & 0o077 != 0 {
            guard chmod(directory.path, 0o700) == 0 else {
                throw CLIError("cannot restrict \(directory.path) to its owner (mode 0700): \(String(cString: strerror(errno)))")
            }
            print("restricted \(directory.path) to its owner (mode 0700; it was \(String(mode & 0o777, radix: 8)))")
        }
        if let existing = try? IdentityFile.load(from: directory.identityPath) {
            throw CLIError("\(directory.path) already has an identity (peer id \(existing.publicKey.peerID)); it was left untouched")
        }
        let key = SigningKey.generate()
        do {
            try IdentityFile.create(at: directory.identityPath, key: key)
        } catch where error.code == .exists {
            throw CLIError("\(directory.path) already has an identity file, which cannot be read (\(error.reason)); it was left untouched")
        } catch {
            throw CLIError(error.description)
        }
        do {
            let environment = try Environment(path: directory.databasePath)
            environment.close()
        } catch {
            throw CLIError("cannot create the database in \(directory.databasePath): \(error)")
        }
        print("Initialised \(directory.path)")
        print("peer id: \(key.publicKey.peerID)")
    }
}
