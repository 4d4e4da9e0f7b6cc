// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import TOMLKit

/// TOML parsing that survives any text: TOMLKit's bundled toml++ (3.x) asserts — the process
/// aborts — on a table header whose name, after a space, starts with a character no key may
/// start with (`[ é]`, `[[ *`, `[ ` at the end of a line), and on a `}` where an array expects
/// a value (`a = [ }`, `[1, }`); the fuzz target for scenario files found both (issue 20).
/// ``parse(_:)`` refuses those headers and every closing bracket that does not match its
/// opener (never valid TOML) with a line number first, then hands the text to TOMLKit. Every
/// TOML file Potluck reads (lender config, job files, scenarios) goes through it.
public enum SafeTOML {
    /// Why a text is not TOML this parser accepts.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public static func parse(_ text: String) throws(Failure) -> TOMLTable {
        if let problem = hazard(in: text) { throw Failure(description: problem) }
        do { return try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw Failure(description: "\(error.description) at line \(error.source.begin.line)")
        } catch {
            throw Failure(description: "\(error)")
        }
    }

    /// The first table header whose name does not start with a key character, or closing
    /// bracket that does not match its opener, as a sentence; `nil` when there is none. A small
    /// scanner: strings and comments are skipped and arrays and inline tables tracked, so a `[`
    /// is a header only at the start of a line outside them.
    static func hazard(in text: String) -> String? {
        let chars = Array(text.unicodeScalars)
        var index = 0, line = 1, atLineStart = true
        var open: [Unicode.Scalar] = []  // the arrays and inline tables open here, innermost last
        func at(_ offset: Int) -> Unicode.Scalar? { index + offset < chars.count ? chars[index + offset] : nil }
        while index < chars.count {
            let char = chars[index]
            switch char {
            case "\n":
                line += 1
                atLineStart = true
                index += 1
            case " ", "\t", "\r":
                index += 1
            case "#":
                while index < chars.count, chars[index] != "\n" { index += 1 }
            case "\"", "'":
                let triple = at(1) == char && at(2) == char
                index += triple ? 3 : 1
                while index < chars.count {
                    if chars[index] == "\n" {
                        line += 1
                        if !triple { break }
                    }
                    if char == "\"", chars[index] == "\\" { index += 2; continue }
                    if chars[index] == char, !triple || (at(1) == char && at(2) == char) {
                        index += triple ? 3 : 1
                        break
                    }
                    index += 1
                }
                atLineStart = false
            case "[" where atLineStart && open.isEmpty:
                var next = index + 1
                if next < chars.count, chars[next] == "[" { next += 1 }
                while next < chars.count, chars[next] == " " || chars[next] == "\t" { next += 1 }
                let first = next < chars.count ? chars[next] : nil
                guard let first, isKeyStart(first) || first == "]" else {
                    return "line \(line): a table header must start with a name (letters, digits, '_' or '-', or a quoted name)"
                }
                // The rest of the header (its name may hold quoted brackets) changes no depth.
                index = next
                while index < chars.count, chars[index] != "\n", chars[index] != "#" {
                    if chars[index] == "\"" || chars[index] == "'" {
                        let quote = chars[index]
                        index += 1
                        while index < chars.count, chars[index] != quote, chars[index] != "\n" { index += chars[index] == "\\" ? 2 : 1 }
                    }
                    index += 1
                }
                atLineStart = false
            case "[", "{":
                open.append(char)
                atLineStart = false
                index += 1
            case "]", "}":
                if let opener = open.last {
                    guard (opener == "[") == (char == "]") else {
                        return "line \(line): '\(char)' closes the \(opener == "[" ? "array" : "inline table") that '\(opener)' opened"
                    }
                    open.removeLast()
                }
                atLineStart = false
                index += 1
            default:
                atLineStart = false
                index += 1
            }
        }
        return nil
    }

    private static func isKeyStart(_ char: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(char) || ("A"..."Z").contains(char) || ("0"..."9").contains(char)
            || char == "_" || char == "-" || char == "\"" || char == "'"
    }
}
