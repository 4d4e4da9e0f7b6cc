// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// An open list or dictionary while skipping a value: no decoded contents, only what the
/// checks of `parseValue` need.
private struct SkipFrame {
    let isDictionary: Bool
    /// A key was read and its value has not been seen yet.
    var hasPendingKey = false
    /// Where the previous key's bytes sit in the input (for the strict order check).
    var previousKey: Range<Int>?
}

extension Parser {
    /// Checks the dictionary starting at `position` exactly as `parseValue` would (same
    /// errors, in the same order), leaving `position` just past it, and lists where each
    /// entry's key bytes and value encoding sit, in input order, repeats included.
    ///
    /// Nothing is decoded: strings are not copied, and containers are only walked.
    mutating func scanDictionary() throws(BencodeError) -> [BencodeEntry] {
        guard position < input.count else { throw endError() }
        guard input[position] == ASCII.d else {
            throw unexpected(input[position], expecting: "a dictionary ('d')")
        }
        guard maxDepth > 0 else { throw tooDeep() }
        position += 1
        var entries: [BencodeEntry] = []
        entries.reserveCapacity(8)
        var previous: Range<Int>?
        while true {
            guard position < input.count else { throw endError() }
            if input[position] == ASCII.e {
                position += 1
                return entries
            }
            let key = try readKey(after: previous)
            previous = key
            let valueStart = position
            guard position < input.count else { throw endError() }
            if input[position] == ASCII.e { throw missingValue() }
            try skipValue(depth: 1)
            entries.append(BencodeEntry(key: key, value: valueStart..<position))
        }
    }

    /// Checks one value starting at `position` exactly as `parseValue` would (same errors, in
    /// the same order) without building it, leaving `position` just past it. `depth` is how
    /// many containers are already open around it.
    mutating func skipValue(depth: Int) throws(BencodeError) {
        // Allocates only if the value is itself a list or a dictionary.
        var stack: [SkipFrame] = []
        while true {
            guard position < input.count else { throw endError() }
            let byte = input[position]
            if !stack.isEmpty, byte == ASCII.e {
                if stack.removeLast().hasPendingKey { throw missingValue() }
                position += 1
            } else if let top = stack.indices.last, stack[top].isDictionary, !stack[top].hasPendingKey {
                let key = try readKey(after: stack[top].previousKey)
                stack[top].previousKey = key
                stack[top].hasPendingKey = true
                continue
            } else if byte == ASCII.l || byte == ASCII.d {
                guard depth + stack.count < maxDepth else { throw tooDeep() }
                stack.append(SkipFrame(isDictionary: byte == ASCII.d))
                position += 1
                continue
            } else if byte == ASCII.i {
                _ = try readInteger()
            } else if ASCII.isDigit(byte) {
                _ = try readString()
            } else {
                throw unexpected(byte, expecting: "a value ('i', 'l', 'd' or a digit)")
            }
            guard let top = stack.indices.last else { return }
            stack[top].hasPendingKey = false
        }
    }
}
