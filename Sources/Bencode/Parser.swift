// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// An open list or dictionary on the parser's explicit stack.
private struct Frame {
    let isDictionary: Bool
    var elements: [BencodeValue] = []
    var entries: [[UInt8]: BencodeValue] = [:]
    /// The key read but not yet given a value.
    var pendingKey: [UInt8]?
    /// Where the previous key's bytes sit in the input (for the strict order check).
    var previousKey: Range<Int>?
    /// Where the value for `pendingKey` starts.
    var valueStart = 0

    init(isDictionary: Bool) {
        self.isDictionary = isDictionary
    }
}

/// The iterative decoder behind `BencodeDecoder`. It never recurses, never does
/// trapping arithmetic, and never allocates more than the input could hold.
struct Parser: ~Copyable {
    let input: UnsafeBufferPointer<UInt8>
    let strict: Bool
    let maxDepth: Int
    let maxStringLength: Int
    /// Record the raw range of each value in a top-level dictionary.
    let recordsRawValues: Bool
    var position = 0
    private(set) var rawValues: [[UInt8]: Range<Int>] = [:]

    init(
        input: UnsafeBufferPointer<UInt8>, strict: Bool, maxDepth: Int,
        maxStringLength: Int, recordsRawValues: Bool
    ) {
        self.input = input
        self.strict = strict
        self.maxDepth = maxDepth
        self.maxStringLength = maxStringLength
        self.recordsRawValues = recordsRawValues
    }

    /// Reads one value starting at `position`, leaving `position` just past it.
    mutating func parseValue() throws(BencodeError) -> BencodeValue {
        var stack: [Frame] = []
        while true {
            guard position < input.count else { throw endError() }
            let byte = input[position]
            var value: BencodeValue
            if !stack.isEmpty, byte == ASCII.e {
                value = try close(&stack)
            } else if let top = stack.indices.last, stack[top].isDictionary,
                stack[top].pendingKey == nil
            {
                try readKey(into: &stack[top])
                continue
            } else if byte == ASCII.l || byte == ASCII.d {
                guard stack.count < maxDepth else { throw tooDeep() }
                stack.append(Frame(isDictionary: byte == ASCII.d))
                position += 1
                continue
            } else if byte == ASCII.i {
                value = .integer(try readInteger())
            } else if ASCII.isDigit(byte) {
                let range = try readString()
                value = .bytes(Array(UnsafeBufferPointer(rebasing: input[range])))
            } else {
                throw unexpected(byte, expecting: "a value ('i', 'l', 'd' or a digit)")
            }
            guard let top = stack.indices.last else { return value }
            attach(value, to: &stack[top], isTopLevel: top == 0)
        }
    }

    /// Pops the innermost container at its `e` and returns it as a value.
    private mutating func close(_ stack: inout [Frame]) throws(BencodeError) -> BencodeValue {
        let frame = stack.removeLast()
        if frame.pendingKey != nil { throw missingValue() }
        position += 1
        return frame.isDictionary ? .dictionary(frame.entries) : .list(frame.elements)
    }

    private mutating func attach(_ value: BencodeValue, to frame: inout Frame, isTopLevel: Bool) {
        guard frame.isDictionary, let key = frame.pendingKey else {
            frame.elements.append(value)
            return
        }
        frame.pendingKey = nil
        if recordsRawValues && isTopLevel {
            rawValues[key] = frame.valueStart..<position
        }
        // Lenient mode may see a key twice: the last occurrence wins (spec §4.2).
        frame.entries[key] = value
    }

    private mutating func readKey(into frame: inout Frame) throws(BencodeError) {
        let range = try readKey(after: frame.previousKey)
        frame.previousKey = range
        frame.pendingKey = Array(UnsafeBufferPointer(rebasing: input[range]))
        frame.valueStart = position
    }

    /// Reads a dictionary key at `position` and returns where its bytes are; in strict mode
    /// it must sort after `previous` (the range of the key before it, if any).
    mutating func readKey(after previous: Range<Int>?) throws(BencodeError) -> Range<Int> {
        let start = position
        let byte = input[position]
        guard ASCII.isDigit(byte) else {
            if byte == ASCII.i || byte == ASCII.l || byte == ASCII.d {
                throw BencodeError(
                    code: .nonStringKey, offset: start,
                    message: "a dictionary key is not a string; BEP 3 keys must be strings")
            }
            throw unexpected(byte, expecting: "a dictionary key (a digit) or 'e'")
        }
        let range = try readString()
        if strict, let previous {
            let key = UnsafeBufferPointer(rebasing: input[range])
            let before = UnsafeBufferPointer(rebasing: input[previous])
            if key.elementsEqual(before) {
                throw BencodeError(
                    code: .duplicateKey, offset: start,
                    message: "a dictionary key appears twice; each key must be unique")
            }
            if key.lexicographicallyPrecedes(before) {
                throw BencodeError(
                    code: .unsortedKeys, offset: start,
                    message: "a dictionary key sorts before the previous one; "
                        + "keys must be in ascending raw-byte order")
            }
        }
        return range
    }

    /// Reads `<length>:<bytes>` and returns where the bytes are.
    mutating func readString() throws(BencodeError) -> Range<Int> {
        let start = position
        if strict, input[position] == ASCII.zero, position + 1 < input.count,
            ASCII.isDigit(input[position + 1])
        {
            throw BencodeError(
                code: .leadingZero, offset: start,
                message: "a string length has a leading zero; write lengths in shortest form")
        }
        var length = 0
        while position < input.count, ASCII.isDigit(input[position]) {
            let (times10, overflow1) = length.multipliedReportingOverflow(by: 10)
            let digit = Int(input[position] &- ASCII.zero)
            let (sum, overflow2) = times10.addingReportingOverflow(digit)
            if overflow1 || overflow2 { throw stringTooLong(at: start) }
            length = sum
            position += 1
        }
        guard position < input.count else { throw endError() }
        guard input[position] == ASCII.colon else {
            throw unexpected(input[position], expecting: "':' after a string length")
        }
        position += 1
        if length > maxStringLength { throw stringTooLong(at: start) }
        guard length <= input.count - position else {
            throw BencodeError(
                code: .unexpectedEnd, offset: input.count,
                message: "the input ends inside a string that claims \(length) bytes "
                    + "but only \(input.count - position) remain; the data is truncated")
        }
        let range = position..<(position + length)
        position += length
        return range
    }

    /// Reads `i<digits>e` starting at the `i`.
    mutating func readInteger() throws(BencodeError) -> Int64 {
        let start = position + 1
        position += 1
        guard position < input.count else { throw endError() }
        let negative = input[position] == ASCII.minus
        if negative { position += 1 }
        let digitsStart = position
        var value: Int64 = 0
        var overflowed = false
        while position < input.count, ASCII.isDigit(input[position]) {
            let digit = Int64(input[position] &- ASCII.zero)
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative
                ? times10.subtractingReportingOverflow(digit)
                : times10.addingReportingOverflow(digit)
            overflowed = overflowed || overflow1 || overflow2
            value = next
            position += 1
        }
        guard position < input.count else { throw endError() }
        guard input[position] == ASCII.e else {
            throw unexpected(input[position], expecting: "a digit or 'e' in an integer")
        }
        try checkInteger(
            start: start, digitsStart: digitsStart, negative: negative,
            isZero: value == 0, overflowed: overflowed)
        position += 1
        return value
    }

    /// Validates the digits between `digitsStart` and `position` (the `e`).
    private func checkInteger(
        start: Int, digitsStart: Int, negative: Bool, isZero: Bool, overflowed: Bool
    ) throws(BencodeError) {
        let digitCount = position - digitsStart
        if digitCount == 0 {
            throw BencodeError(
                code: .emptyInteger, offset: position,
                message: "an integer has no digits; write at least one digit between 'i' and 'e'")
        }
        if strict, digitCount > 1, input[digitsStart] == ASCII.zero {
            throw BencodeError(
                code: .leadingZero, offset: digitsStart,
                message: "an integer has a leading zero; write integers in shortest form")
        }
        if strict, negative, isZero {
            throw BencodeError(
                code: .negativeZero, offset: start,
                message: "the integer -0 is not allowed; write i0e")
        }
        if overflowed {
            throw BencodeError(
                code: .integerOverflow, offset: start,
                message: "an integer does not fit in a signed 64-bit integer")
        }
    }

    func tooDeep() -> BencodeError {
        BencodeError(
            code: .tooDeep, offset: position,
            message: "lists and dictionaries are nested more than \(maxDepth) "
                + "deep; flatten the value or raise maxDepth")
    }

    func missingValue() -> BencodeError {
        BencodeError(
            code: .missingValue, offset: position,
            message: "the dictionary ends right after a key; give every key a value")
    }

    func endError() -> BencodeError {
        BencodeError(
            code: .unexpectedEnd, offset: input.count,
            message: "the input ends in the middle of a value; the data is truncated")
    }

    private func stringTooLong(at offset: Int) -> BencodeError {
        BencodeError(
            code: .stringTooLong, offset: offset,
            message: "a string claims more than \(maxStringLength) bytes; "
                + "raise maxStringLength if it is legitimate")
    }

    func unexpected(_ byte: UInt8, expecting: String) -> BencodeError {
        let hex = String(byte, radix: 16, uppercase: false)
        return BencodeError(
            code: .unexpectedByte, offset: position,
            message: "found byte 0x\(hex.count == 1 ? "0" + hex : hex) where \(expecting) "
                + "was expected")
    }
}
