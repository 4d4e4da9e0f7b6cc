// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
//
// potluck-crash-writer DIR [MAPSIZE]
//
// Test support for the storage crash test: opens an Environment at DIR and commits
// transactions forever, until killed. Transaction n writes, all together,
//   "<n>/a" = "a:<n>",  "<n>/b" = "b:<n>",  "<n>/c" = crashValue(n) (1…6000 bytes),
//   "last"  = "<n>"
// where <n> is n zero-padded to 10 digits. After each commit it prints "committed <n>\n"
// to stdout with an unbuffered write(2). It resumes after the "last" found in DIR, and
// starts with a small map (MAPSIZE, default 256 KiB) so the map grows while it runs.
import Storage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func padded(_ n: Int) -> String {
    let digits = String(n)
    return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
}

func crashValue(_ n: Int) -> [UInt8] {
    let count = (n &* 37) % 6000 + 1
    return (0..<count).map { UInt8(truncatingIfNeeded: n &+ $0) }
}

func say(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { raw in
            write(1, raw.baseAddress! + offset, raw.count - offset)
        }
        if written <= 0 { exit(3) }
        offset += written
    }
    bytes.removeAll()
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    say("usage: potluck-crash-writer DIR [MAPSIZE]\n")
    exit(2)
}
var options = Environment.Options()
options.mapSize = arguments.count >= 3 ? Int(arguments[2]) ?? (256 << 10) : 256 << 10

do {
    let env = try Environment(path: arguments[1], options: options)
    let db = try env.database("crash")
    let lastKey = Array("last".utf8)
    var n = try env.read { txn in
        try txn.get(db, lastKey).flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
    }
    while true {
        n += 1
        let prefix = padded(n)
        try env.write { txn in
            try txn.put(db, Array("\(prefix)/a".utf8), Array("a:\(n)".utf8))
            try txn.put(db, Array("\(prefix)/b".utf8), Array("b:\(n)".utf8))
            try txn.put(db, Array("\(prefix)/c".utf8), crashValue(n))
            try txn.put(db, lastKey, Array(String(n).utf8))
        }
        say("committed \(n)\n")
    }
} catch {
    say("error: \(error)\n")
    exit(1)
}
