/// A user-facing failure: one line saying what went wrong and what to do. The CLI prints it
/// as `Error: <message>` and exits with a non-zero status; never a stack trace.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
