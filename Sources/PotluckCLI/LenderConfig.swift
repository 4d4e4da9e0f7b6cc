import Crypto
import Foundation
import Records
import TOMLKit

/// The lender's policy in `DIR/config.toml` (`[offer]`): written by `potluck offer set`, editable
/// by hand, validated with errors that name the key.
struct LenderConfig: Equatable {
    var cores = 1
    var memory = "1GiB"
    var runtimes = ["wasm32-wasi"]
    var windows: [String] = []
    var idleOnly = false
    var allow: [String] = []
    var deny: [String] = []
    var friends: [String] = []
    var ttl = "1h"

    static func path(in directory: DataDirectory) -> String { directory.path + "/config.toml" }

    /// Reads the file, or the defaults when there is none.
    static func load(from path: String) throws -> LenderConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return LenderConfig() }
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch { throw CLIError("\(path) is not valid TOML: \(error)") }
        guard let offer = table["offer"]?.table else { return LenderConfig() }
        var config = LenderConfig()
        for key in offer.keys {
            let value = offer[key]!
            func strings() throws -> [String] {
                guard let array = value.array, array.allSatisfy({ $0.string != nil }) else {
                    throw CLIError("\(path): offer.\(key) must be a list of strings")
                }
                return array.compactMap(\.string)
            }
            switch key {
            case "cores":
                guard let cores = value.int, (1...Offer.maxCores).contains(cores) else {
                    throw CLIError("\(path): offer.cores must be an integer from 1 to \(Offer.maxCores)")
                }
                config.cores = cores
            case "memory": config.memory = try Self.string(value, key, path)
            case "ttl": config.ttl = try Self.string(value, key, path)
            case "idle_only":
                guard let flag = value.bool else { throw CLIError("\(path): offer.idle_only must be true or false") }
                config.idleOnly = flag
            case "runtimes": config.runtimes = try strings()
            case "windows": config.windows = try strings()
            case "allow": config.allow = try strings()
            case "deny": config.deny = try strings()
            case "friends": config.friends = try strings()
            default: throw CLIError("\(path): unknown key offer.\(key) (known: cores, memory, runtimes, windows, idle_only, allow, deny, friends, ttl)")
            }
        }
        return config
    }

    private static func string(_ value: any TOMLValueConvertible, _ key: String, _ path: String) throws -> String {
        guard let text = value.string else { throw CLIError("\(path): offer.\(key) must be a string") }
        return text
    }

    func save(to path: String) throws {
        func list(_ values: [String]) -> String { "[" + values.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        let text = """
            # Potluck lender policy: `potluck offer set` writes it; you may edit it by hand.
            [offer]
            cores = \(cores)
            memory = "\(memory)"
            runtimes = \(list(runtimes))
            windows = \(list(windows))
            idle_only = \(idleOnly)
            allow = \(list(allow))
            deny = \(list(deny))
            friends = \(list(friends))
            ttl = "\(ttl)"

            """
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw CLIError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// The offer this policy describes, for `lender` reachable at `endpoint`, expiring `ttl` from now.
    func offer(lender: PublicKey, endpoint: String, now: Date = Date()) throws -> Offer {
        guard let memoryBytes = Quantities.bytes(memory) else { throw CLIError("memory '\(memory)' is not a size: use e.g. 512MiB or 4GiB") }
        guard let lifetime = Quantities.duration(ttl), lifetime > .zero else { throw CLIError("ttl '\(ttl)' is not a duration: use e.g. 30m or 1h") }
        var parsedWindows: [TimeWindow] = []
        for text in windows {
            guard let window = TimeWindow(text) else { throw CLIError("window '\(text)' is not HH:MM-HH:MM (UTC)") }
            parsedWindows.append(window)
        }
        let policy = OfferPolicy(allowed: try allow.map(parsePeer), denied: try deny.map(parsePeer), friendCount: friends.count)
        _ = try friends.map(parsePeer)
        let expiry = Int64(now.timeIntervalSince1970) + max(1, lifetime.components.seconds)
        let offer = Offer(lender: lender, cores: cores, memoryBytes: memoryBytes, runtimes: runtimes, windows: parsedWindows,
                          idleOnly: idleOnly, policy: policy, endpoint: endpoint, expiry: expiry)
        do { try offer.validate() } catch { throw CLIError("the offer is not valid: \(error)") }
        return offer
    }
}
