import ArgumentParser
import PotluckCrypto

/// `potluck id`: prints this node's peer id.
struct IdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "id",
        abstract: "Print this node's peer id.",
        discussion: "With --json, also the raw ed25519 public key as 64 hex digits.")

    @OptionGroup var data: DataDirectoryOptions
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable {
        let peer_id: String
        let public_key: String
    }

    func run() async throws {
        let key: SigningKey
        do {
            key = try IdentityFile.load(from: data.directory.identityPath)
        } catch {
            throw CLIError(error.description)
        }
        if json {
            try printJSON(Output(peer_id: key.publicKey.peerID, public_key: key.publicKey.hex))
        } else {
            print(key.publicKey.peerID)
        }
    }
}
