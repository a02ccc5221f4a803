import Testing

@testable import CaseHubDelivery

@Suite struct AddressGuardTests {
    @Test(arguments: [
        "127.0.0.1", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.10", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3",
        "64:ff9b::a00:1", "64:ff9b:1::808:808", "2002:a00:1::1", "2001:0:4136:e378::1", "fec0::1", "not an address", "",
    ])
    func refusesPrivateAndSpecialAddresses(address: String) {
        #expect(!AddressGuard.isPubliclyRoutable(address))
    }

    @Test(arguments: ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1", "2001:4860::8888"])
    func admitsPublicAddresses(address: String) {
        #expect(AddressGuard.isPubliclyRoutable(address))
    }
}
