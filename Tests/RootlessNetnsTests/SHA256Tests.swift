import Testing
@testable import RootlessNetns

@Suite struct SHA256Tests {
    func hex(_ bytes: [UInt8]) -> String { SHA256.hex(SHA256.hash(bytes)) }

    @Test func emptyMessage() {
        #expect(hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func abc() {
        #expect(hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func nist448BitMessage() {
        let m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        #expect(m.utf8.count == 56)
        #expect(hex(Array(m.utf8)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func oneMillionA() {
        let m = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(hex(m) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Padding boundaries: 55 bytes fit one block with the length, 56 need a second block,
    /// 63/64/119 straddle the block size.
    @Test(arguments: [
        (55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
        (64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
        (119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"),
    ])
    func blockBoundaries(count: Int, expected: String) {
        #expect(hex([UInt8](repeating: UInt8(ascii: "a"), count: count)) == expected)
    }

    @Test func allByteValues() {
        #expect(hex((0...255).map { UInt8($0) }) == "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880")
    }

    @Test func hexEncoding() {
        #expect(SHA256.hex([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(SHA256.hex([]) == "")
        #expect(SHA256.hash([]).count == 32)
    }

    @Test(arguments: [
        ("/run/user/1000/rootless-netns", "rootless-netns-39ab1fc452dd75670365"),
        ("/run/rootless-netns", "rootless-netns-c4a620854845ce2bcdc2"),
        ("/tmp/x", "rootless-netns-2e56aa36f538b33b48f3"),
    ])
    func netnsName(stateDir: String, expected: String) {
        let name = Context.netnsName(stateDir: stateDir)
        #expect(name == expected)
        #expect(name.count == "rootless-netns-".count + 20)
    }
}
