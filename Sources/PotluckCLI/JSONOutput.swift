import ControlAPI
import Foundation

/// Prints `value` as one line of JSON with sorted snake_case keys, as the control API answers
/// (stable for scripts and tests).
func printJSON(_ value: some Encodable) throws {
    print(String(decoding: try APICoding.encoder.encode(value), as: UTF8.self))
}
