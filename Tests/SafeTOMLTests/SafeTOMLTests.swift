@testable import SafeTOML
import Testing

/// The guard in front of TOMLKit (issue 20): the headers that make its C++ parser abort are
/// refused with a line number; everything else is TOMLKit's to judge.
@Suite struct SafeTOMLTests {
    @Test(arguments: ["[ é]", "[[ é ]]", "[\t*]", "[ ", "name = 1\n\n[ \u{FFFD}x]"])
    func headersThatWouldAbortTheParserAreRefused(text: String) {
        #expect(throws: SafeTOML.Failure.self) { _ = try SafeTOML.parse(text) }
        #expect(SafeTOML.badHeader(in: text)?.contains("a table header must start with a name") == true)
    }

    @Test func theLineIsNamed() {
        #expect(SafeTOML.badHeader(in: "a = 1\n# [ é]\nb = \"[ é\"\n[ é]") == "line 4: a table header must start with a name (letters, digits, '_' or '-', or a quoted name)")
    }

    @Test(arguments: [
        "[a]\nb = 1", "[ a . b ]\nc = 2", "[[ jobs ]]\nx = 1", "[ \"quoted key\" ]", "['literal']",
        "v = [\n  [ 1, 2 ],\n  [ {a = 1} ],\n]", "s = \"\"\"\n[ é\n\"\"\"", "t = '''\n[ *\n'''", "x = { a = [ { b = 1 } ] }\n[ok]",
    ])
    func everythingElseIsTOMLKitsToJudge(text: String) throws {
        #expect(SafeTOML.badHeader(in: text) == nil)
        _ = try SafeTOML.parse(text)
    }

    @Test func otherMistakesStillSayWhereTheyAre() {
        #expect { _ = try SafeTOML.parse("a = 1\nb = \n") } throws: { "\($0)".contains("line 2") }
    }
}
