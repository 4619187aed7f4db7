import CNI
import Glibc
import IP
import JSON
import Netlink
import NetlinkTestSupport
import Testing
@testable import NetstatInspect

/// Plugin mode through the CNI dispatcher, with netlink replaced by a snapshot built in code.
@Suite struct PluginTests {
    static let netns = "/run/netns/c1"

    /// A netlink session answering one links dump (and addresses/routes for CHECK) from `snapshot`.
    static func plugin(links: [[UInt8]], addresses: [[UInt8]] = [], routes: [[UInt8]] = []) -> NetstatPlugin {
        NetstatPlugin { (_: String) throws(NetlinkError) in
            RouteNetlink(socket: RecordedNetlinkSocket(portID: 0, replies: links + addresses + routes))
        }
    }

    static func config(version: String = "1.0.0", prevResult: String?) -> [UInt8] {
        let prev = prevResult.map { ",\"prevResult\":\($0)" } ?? ""
        return Array("{\"cniVersion\":\"\(version)\",\"name\":\"podman\",\"type\":\"netstat-inspect\"\(prev)}".utf8)
    }

    static func env(_ command: String) -> [String: String] {
        ["CNI_COMMAND": command, "CNI_CONTAINERID": "abc", "CNI_NETNS": netns, "CNI_IFNAME": "eth0",
         "CNI_PATH": "/opt/cni/bin"]
    }

    static let prev = """
        {"cniVersion":"1.0.0","interfaces":[{"name":"cni0","mac":"aa:00:00:00:00:01"},\
        {"name":"eth0","sandbox":"\(netns)"}],"ips":[{"address":"10.88.0.2/24","gateway":"10.88.0.1","interface":1}],\
        "routes":[{"dst":"0.0.0.0/0","gw":"10.88.0.1"}]}
        """

    /// RTM_NEWLINK/DONE bytes for eth0 (0a:00:00:00:00:02, MTU 1450), via the NetlinkTests builders' format.
    static let linkDump: [[UInt8]] = [Wire.link(seq: 1, index: 2, name: "eth0", mac: [0x0a, 0, 0, 0, 0, 2], mtu: 1450)
                                      + Wire.done(seq: 1)]

    @Test func addFillsMacAndMtuAndConvertsVersion() throws {
        let out = PluginMain.dispatch(Self.plugin(links: Self.linkDump), env: Self.env("ADD")) {
            Self.config(version: "1.1.0", prevResult: Self.prev)
        }
        #expect(out.exitCode == 0, "\(out.stdout)")
        let json = try JSON.parse(out.stdout)
        #expect(json["cniVersion"] == "1.1.0")
        #expect(json["interfaces"]?.arrayValue?[1]["mac"] == "0a:00:00:00:00:02")
        #expect(json["interfaces"]?.arrayValue?[1]["mtu"] == 1450)
        #expect(json["interfaces"]?.arrayValue?[0]["mac"] == "aa:00:00:00:00:01")
        #expect(json["ips"]?.arrayValue?.count == 1)
    }

    @Test func addWithoutPrevResultFails() throws {
        let out = PluginMain.dispatch(Self.plugin(links: Self.linkDump), env: Self.env("ADD")) {
            Self.config(prevResult: nil)
        }
        #expect(out.exitCode != 0)
        #expect(try JSON.parse(out.stdout)["code"] == 7)
    }

    @Test func delAndStatusNeedNoNamespace() {
        let gone = NetstatPlugin { (path: String) throws(NetlinkError) in
            throw NetlinkError.namespace(.init(op: "open netns", path: path, errno: ENOENT))
        }
        var env = Self.env("DEL")
        env["CNI_NETNS"] = nil
        let del = PluginMain.dispatch(gone, env: env) { Self.config(prevResult: Self.prev) }
        #expect(del.exitCode == 0 && del.stdout == "", "\(del.stdout)")
        let status = PluginMain.dispatch(gone, env: ["CNI_COMMAND": "STATUS"]) {
            Self.config(version: "1.1.0", prevResult: nil)
        }
        #expect(status.exitCode == 0 && status.stdout == "", "\(status.stdout)")
    }

    @Test func checkReportsEveryDifference() throws {
        let result = try CNIResult.parse(try JSON.parse(Self.prev))
        var snapshot = NetworkSnapshot(links: [Link(index: 2, name: "eth0", hardwareAddress: [0x0a, 0, 0, 0, 0, 9])])
        var problems = PrevResultCheck.differences(result, snapshot: snapshot, netns: Self.netns)
        #expect(problems == ["address 10.88.0.2/24 is missing on eth0", "route 0.0.0.0/0 via 10.88.0.1 is missing"])

        snapshot.addresses = [InterfaceAddress(interfaceIndex: 2, address: IPAddress("10.88.0.2")!, prefixLength: 24)]
        snapshot.routes = [Route(family: AF_INET, gateway: IPAddress("10.88.0.1"), outputInterface: 2)]
        #expect(PrevResultCheck.differences(result, snapshot: snapshot, netns: Self.netns).isEmpty)

        var withMac = result
        withMac.interfaces[1].mac = "0a:00:00:00:00:02"
        problems = PrevResultCheck.differences(withMac, snapshot: snapshot, netns: Self.netns)
        #expect(problems == ["interface eth0 has MAC 0a:00:00:00:00:09, prevResult says 0a:00:00:00:00:02"])

        snapshot.links = []
        #expect(PrevResultCheck.differences(result, snapshot: snapshot, netns: Self.netns).first == "interface eth0 is missing")
    }

    @Test func checkFailureIsACNIError() throws {
        let out = PluginMain.dispatch(Self.plugin(links: Self.linkDump, addresses: [Wire.done(seq: 2), Wire.done(seq: 3)],
                                                  routes: [Wire.done(seq: 4), Wire.done(seq: 5)]),
                                      env: Self.env("CHECK")) { Self.config(prevResult: Self.prev) }
        #expect(out.exitCode != 0)
        let json = try JSON.parse(out.stdout)
        #expect(json["msg"] == "netns /run/netns/c1 does not match prevResult")
        #expect(json["details"] == "address 10.88.0.2/24 is missing on eth0; route 0.0.0.0/0 via 10.88.0.1 is missing")
    }
}

/// Minimal little-endian rtnetlink replies (port id 0, accepted by any socket).
enum Wire {
    static func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    static func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
    static func pad(_ b: [UInt8]) -> [UInt8] { b + [UInt8](repeating: 0, count: (4 - b.count % 4) % 4) }
    static func msg(_ type: UInt16, seq: UInt32, _ payload: [UInt8]) -> [UInt8] {
        pad(le32(UInt32(16 + payload.count)) + le16(type) + le16(2) + le32(seq) + le32(0) + payload)
    }
    static func attr(_ type: UInt16, _ p: [UInt8]) -> [UInt8] { pad(le16(UInt16(4 + p.count)) + le16(type) + p) }
    /// RTM_NEWLINK (16) with IFLA_IFNAME (3), IFLA_MTU (4), IFLA_ADDRESS (1).
    static func link(seq: UInt32, index: UInt32, name: String, mac: [UInt8], mtu: UInt32) -> [UInt8] {
        let ifi: [UInt8] = [0, 0] + le16(1) + le32(index) + le32(0x1003) + le32(0)
        return msg(16, seq: seq, ifi + attr(3, Array(name.utf8) + [0]) + attr(4, le32(mtu)) + attr(1, mac))
    }
    static func done(seq: UInt32) -> [UInt8] { msg(3, seq: seq, le32(0)) }
}
