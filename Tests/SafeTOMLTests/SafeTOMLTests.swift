@testable import SafeTOML
import Foundation
import Testing

/// The guard in front of TOMLKit (issue 20): the headers that make its C++ parser abort are
/// refused with a line number; everything else is TOMLKit's to judge.
@Suite struct SafeTOMLTests {
    @Test(arguments: ["[ é]", "[[ é ]]", "[\t*]", "[ ", "name = 1\n\n[ \u{FFFD}x]"])
    func headersThatWouldAbortTheParserAreRefused(text: String) {
        #expect(throws: SafeTOML.Failure.self) { _ = try SafeTOML.parse(text) }
        #expect(SafeTOML.hazard(in: text)?.contains("a table header must start with a name") == true)
    }

    @Test(arguments: ["a = [ }", "a = [}", "x = [[1,2],[3,}]", "a = [ 1, }", "a = [ # c\n }", "h = { min = 1, max = [ }", "a = { b = 1 ]"])
    func closersThatDoNotMatchTheirOpenerAreRefused(text: String) {
        #expect(throws: SafeTOML.Failure.self) { _ = try SafeTOML.parse(text) }
        #expect(SafeTOML.hazard(in: text)?.contains("closes the") == true)
    }

    @Test func theLineIsNamed() {
        #expect(SafeTOML.hazard(in: "a = 1\n# [ é]\nb = \"[ é\"\n[ é]") == "line 4: a table header must start with a name (letters, digits, '_' or '-', or a quoted name)")
    }

    @Test(arguments: [
        "[a]\nb = 1", "[ a . b ]\nc = 2", "[[ jobs ]]\nx = 1", "[ \"quoted key\" ]", "['literal']",
        "v = [\n  [ 1, 2 ],\n  [ {a = 1} ],\n]", "s = \"\"\"\n[ é\n\"\"\"", "t = '''\n[ *\n'''", "x = { a = [ { b = 1 } ] }\n[ok]",
    ])
    func everythingElseIsTOMLKitsToJudge(text: String) throws {
        #expect(SafeTOML.hazard(in: text) == nil)
        _ = try SafeTOML.parse(text)
    }

    @Test func otherMistakesStillSayWhereTheyAre() {
        #expect { _ = try SafeTOML.parse("a = 1\nb = \n") } throws: { "\($0)".contains("line 2") }
    }

    /// No false alarm on the TOML Potluck ships: every scenario and example job file.
    @Test func theShippedFilesPass() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var files = try FileManager.default.contentsOfDirectory(atPath: root.path + "/simulations")
            .filter { $0.hasSuffix(".toml") }.map { root.path + "/simulations/" + $0 }
        for example in try FileManager.default.contentsOfDirectory(atPath: root.path + "/examples") {
            let job = root.path + "/examples/" + example + "/job.toml"
            if FileManager.default.fileExists(atPath: job) { files.append(job) }
        }
        #expect(files.count >= 5)
        for file in files {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(SafeTOML.hazard(in: text) == nil, "\(file)")
            _ = try SafeTOML.parse(text)
        }
    }
}
