import Synchronization

/// Makes UUIDv7 identifiers (RFC 9562): a 48-bit millisecond timestamp, then random bits.
///
/// Within one process the ids are strictly increasing, even within a millisecond, so sorting
/// by id is sorting by creation; cursors over case lists rely on that.
public enum Identifier {
    private static let last = Mutex<(millis: UInt64, counter: UInt16)>((0, 0))

    public static func make(now: UInt64 = Timestamp.nowMillis()) -> String {
        let (millis, counter) = last.withLock { state -> (UInt64, UInt16) in
            if now > state.millis {
                state = (now, UInt16.random(in: 0..<0x400))
            } else if state.counter >= 0x0FFF {
                state = (state.millis + 1, 0)
            } else {
                state.counter += 1
            }
            return state
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - index))) }
        bytes[6] = 0x70 | UInt8(counter >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: counter)
        var random = SystemRandomNumberGenerator()
        let tail: UInt64 = random.next()  // one system call for all eight random bytes
        for index in 8..<16 { bytes[index] = UInt8(truncatingIfNeeded: tail >> (8 * (index - 8))) }
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        return format(bytes)
    }

    private static func format(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if [4, 6, 8, 10].contains(index) { out.append(UInt8(ascii: "-")) }
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
