#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Makes UUIDv7 identifiers (RFC 9562): a 48-bit millisecond timestamp, then random bits.
///
/// Within one process the ids are strictly increasing, even within a millisecond, so sorting
/// by id is sorting by creation; cursors over case lists rely on that.
public enum Identifier {
    private struct State {
        var millis: UInt64 = 0
        var counter: UInt16 = 0
        var random = RandomPool()
    }

    private static let state = Mutex(State())

    public static func make(now: UInt64 = Timestamp.nowMillis()) -> String {
        let (millis, counter, tail) = state.withLock { state -> (UInt64, UInt16, UInt64) in
            if now > state.millis {
                state.millis = now
                state.counter = UInt16(truncatingIfNeeded: state.random.next()) & 0x3FF
            } else if state.counter >= 0x0FFF {
                state.millis += 1
                state.counter = 0
            } else {
                state.counter += 1
            }
            return (state.millis, state.counter, state.random.next())
        }
        let high = millis << 16 | 0x7000 | UInt64(counter)  // 48-bit time, version 7, 12-bit counter
        let low = tail & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000  // RFC 9562 variant, 62 random bits
        return format(high: high, low: low)
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lowercase.
    private static func format(high: UInt64, low: UInt64) -> String {
        String(unsafeUninitializedCapacity: 36) { out in
            var position = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    out[position] = UInt8(ascii: "-")
                    position += 1
                }
                let word = nibble < 16 ? high : low
                let value = UInt8(truncatingIfNeeded: word >> (60 - 4 * (nibble % 16))) & 0x0F
                out[position] = value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
                position += 1
            }
            return 36
        }
    }
}

/// Random words from the system's generator, fetched many at a time: one system call per
/// identifier was a measurable share of posting a message.
private struct RandomPool {
    private var words = [UInt64](repeating: 0, count: 64)
    private var taken = 64

    mutating func next() -> UInt64 {
        if taken == words.count {
            words.withUnsafeMutableBytes { Self.fillWithSystemRandom($0) }
            taken = 0
        }
        defer { taken += 1 }
        return words[taken]
    }

    private static func fillWithSystemRandom(_ buffer: UnsafeMutableRawBufferPointer) {
        // glibc 2.36 and later draw these from the kernel's generator (getrandom), as the system
        // generator does, with one system call for the whole buffer.
        arc4random_buf(buffer.baseAddress!, buffer.count)
    }
}
