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

    /// Whether `text` has the form of the ids this type makes: 36 characters, lowercase hex in
    /// groups of 8-4-4-4-12.
    public static func isWellFormed(_ text: String) -> Bool {
        let bytes = text.utf8
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            let isDash = index == 8 || index == 13 || index == 18 || index == 23
            let isHex = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            guard isDash ? byte == UInt8(ascii: "-") : isHex else { return false }
        }
        return true
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

    #if canImport(Darwin)
    private static func fillWithSystemRandom(_ buffer: UnsafeMutableRawBufferPointer) {
        arc4random_buf(buffer.baseAddress!, buffer.count)
    }
    #else
    /// The kernel's generator, as `getrandom` serves it (which Swift's Glibc module does not
    /// declare): one read fills the buffer.
    private static let urandom = open("/dev/urandom", O_RDONLY | O_CLOEXEC)

    private static func fillWithSystemRandom(_ buffer: UnsafeMutableRawBufferPointer) {
        if urandom >= 0, read(urandom, buffer.baseAddress!, buffer.count) == buffer.count { return }
        // No /dev (a bare chroot): the standard library's generator, a word at a time.
        var generator = SystemRandomNumberGenerator()
        for offset in stride(from: 0, to: buffer.count, by: 8) {
            buffer.storeBytes(of: generator.next() as UInt64, toByteOffset: offset, as: UInt64.self)
        }
    }
    #endif
}
