import Foundation

/// Reads `spec/vectors/NAME` from the package root (found from this file's path).
func loadVector<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
    let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let data = try Data(contentsOf: root.appendingPathComponent("spec/vectors/\(name)"))
    return try JSONDecoder().decode(T.self, from: data)
}

func hexBytes(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        out.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return out
}
