import Foundation

/// Decides which IP addresses webhooks may reach when private networks are not allowed:
/// only globally routable unicast ones. Loopback, private (RFC 1918, unique local),
/// link-local, carrier-grade NAT, multicast, unspecified and reserved ranges are refused,
/// and so are IPv4 addresses carried inside IPv6 ones (mapped, NAT64, 6to4) when they would
/// be, and tunnels (Teredo) that could lead anywhere.
public enum AddressGuard {
    public static func isPubliclyRoutable(_ address: String) -> Bool {
        if let v4 = ipv4Bytes(address) { return isPublic(v4: v4) }
        if let v6 = ipv6Bytes(address) { return isPublic(v6: v6) }
        return false
    }

    static func isPublic(v4 bytes: [UInt8]) -> Bool {
        let (a, b, c) = (bytes[0], bytes[1], bytes[2])
        switch a {
        case 0, 10, 127: return false
        case 100 where (64...127).contains(b): return false  // carrier-grade NAT
        case 169 where b == 254: return false  // link-local
        case 172 where (16...31).contains(b): return false
        case 192 where b == 168: return false
        case 192 where b == 0 && c == 0: return false  // IETF protocol assignments
        case 198 where b == 18 || b == 19: return false  // benchmarking
        case 224...255: return false  // multicast, reserved, broadcast
        default: return true
        }
    }

    static func isPublic(v6 bytes: [UInt8]) -> Bool {
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return isPublic(v4: Array(bytes[12..<16]))  // ::ffff:a.b.c.d
        }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) { return false }  // :: and ::1
        if bytes[0] & 0xfe == 0xfc { return false }  // fc00::/7 unique local
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return false }  // fe80::/10 link-local
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0xc0 { return false }  // fec0::/10 old site-local
        if bytes[0..<4] == [0x20, 0x01, 0, 0] { return false }  // 2001::/32 Teredo tunnels
        if bytes[0..<6] == [0, 0x64, 0xff, 0x9b, 0, 0x01] { return false }  // 64:ff9b:1::/48 local NAT64
        if bytes[0] == 0x20 && bytes[1] == 0x02 { return isPublic(v4: Array(bytes[2..<6])) }  // 2002::/16 6to4
        if bytes[0] == 0xff { return false }  // multicast
        if bytes[0..<12] == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0] {
            return isPublic(v4: Array(bytes[12..<16]))  // 64:ff9b::/96 NAT64
        }
        return true
    }

    static func ipv4Bytes(_ text: String) -> [UInt8]? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    static func ipv6Bytes(_ text: String) -> [UInt8]? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }
}
