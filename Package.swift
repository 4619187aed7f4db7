// swift-tools-version:6.0
import PackageDescription

// Plugin executables and every library they link stay free of Foundation:
// each container start execs them, and Foundation costs milliseconds of startup.
let package = Package(
    name: "rootless-cni",
    products: [
        .executable(name: "rootless-netns", targets: ["rootless-netns"]),
        .executable(name: "netstat-inspect", targets: ["netstat-inspect"]),
    ],
    targets: [
        // System library (apt: libjansson-dev; its static archive goes into the static executables).
        .systemLibrary(name: "CJansson", pkgConfig: "jansson",
                       providers: [.apt(["libjansson-dev"])]),
        // The little C that Swift cannot do safely (fork/setns/unshare/mount/execve, sockets, and the
        // forwarder's epoll/splice/pipe2/IP_TRANSPARENT calls, which Swift's Glibc module lacks).
        // The codes it reports (child steps, stages, wait and lock kinds) are enums in its headers.
        // Only System imports it (and SystemTests, to read those codes): scripts/check-imports
        // enforces that for Sources/.
        .target(name: "CShim"),
        // Netlink framing (the kernel header macros Swift cannot import) and attribute tables,
        // for the Netlink module only; kernel headers alone, no libmnl, so both executables are static.
        .target(name: "CNetlinkShim"),

        // The JSON value and writer; parsing through jansson (the only target importing it).
        .target(name: "JSON", dependencies: ["CJansson"]),
        // IP addresses and networks, the one address type of CNI results and netlink messages:
        // a leaf (no dependencies, no libc), parsed as inet_pton(3) parses, printed as RFC 5952
        // (what CNI carries) or as inet_ntop(3) (netstat-inspect's view of the kernel).
        .target(name: "IP"),
        // CNI protocol: pure, no syscalls (env, config, results, error JSON, dispatch, chains).
        .target(name: "CNI", dependencies: ["IP", "JSON"]),
        // The OS layer: fds, files, locks, processes, daemons, sockets, epoll, splice, poll, clock,
        // sysctl, namespaces, mounts. The one place (with Netlink) where Swift makes syscalls.
        .target(name: "System", dependencies: ["CShim"]),
        // NETLINK_ROUTE in two layers: typed requests/replies over a replaceable socket.
        .target(name: "Netlink", dependencies: ["CNetlinkShim", "IP", "System"]),
        // The process side of a plugin (skel): environment, stdin, stdout, exit code.
        .target(name: "Skel", dependencies: ["CNI", "System"]),
        // The port forwarder daemon (one epoll loop, splice(2) for TCP, transparent source
        // addresses) and its control-socket client; all syscalls through System.
        .target(name: "PortForwarder", dependencies: ["JSON", "System"]),
        // The meta-plugin (shared netns, helper backends, delegate chain) and its CLI.
        .target(name: "RootlessNetns", dependencies: ["CNI", "IP", "JSON", "PortForwarder", "Skel", "System"]),
        // The inspector plugin (fills in / checks prevResult from netlink) and its CLI.
        .target(name: "NetstatInspect", dependencies: ["CNI", "IP", "JSON", "Skel", "System", "Netlink"]),

        // One line each: the module's main() (see docs/architecture.md for one ADD end to end).
        .executableTarget(name: "rootless-netns", dependencies: ["RootlessNetns"]),
        .executableTarget(name: "netstat-inspect", dependencies: ["NetstatInspect"]),

        .testTarget(name: "JSONTests", dependencies: ["JSON", "CJansson"]),
        .testTarget(name: "IPTests", dependencies: ["IP"]),
        .testTarget(name: "CNITests", dependencies: ["CNI", "IP", "JSON"]),
        // What several test targets share (TempDir, TempNetns).
        .target(name: "TestSupport", dependencies: ["System"], path: "Tests/TestSupport"),
        .testTarget(name: "SystemTests", dependencies: ["System", "CShim", "TestSupport"]),
        // Recorded/recording netlink sockets for tests (replayed kernel replies, fixture capture).
        .target(name: "NetlinkTestSupport", dependencies: ["Netlink"], path: "Tests/NetlinkTestSupport"),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink", "NetlinkTestSupport", "CNetlinkShim", "IP"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RootlessNetnsTests", dependencies: ["RootlessNetns", "IP", "TestSupport"]),
        .testTarget(name: "NetstatInspectTests", dependencies: ["NetstatInspect", "IP", "NetlinkTestSupport"]),
        // Root/namespaces/unprivileged-user tests; each says what it needs via .enabled(if:).
        .testTarget(name: "IntegrationTests", dependencies: [], exclude: ["Fixtures"]),
    ]
)
