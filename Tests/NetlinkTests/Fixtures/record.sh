#!/bin/sh
# Re-records recorded-*.hex from a throwaway network namespace (run as root from the package root:
#   sh Tests/NetlinkTests/Fixtures/record.sh).
# The tests in RecordedDumpTests.swift assert the values set up here; change both together.
set -eu
ns=nl-fixture-$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
ipn() { timeout 10 ip -n "$ns" "$@"; }
ipn link set lo up
ipn link add veth0 address 02:00:00:00:00:01 mtu 1400 type veth peer name veth1 address 02:00:00:00:00:02
ipn link add br0 address 02:00:00:00:00:10 type bridge
ipn link set veth1 master br0
ipn link set veth0 up
ipn link set veth1 up
ipn link set br0 up
ipn addr add 10.77.0.2/24 dev veth0
ipn addr add fd77::2/64 dev veth0 nodad
ipn addr add 10.77.0.1/24 dev br0
ipn route add default via 10.77.0.1 dev veth0
ipn -6 route add default via fd77::1 dev veth0 metric 100
ipn route add 192.168.50.0/24 via 10.77.0.3 dev veth0
timeout 10 ip netns exec "$ns" ping -c 3 -i 0.2 -q 127.0.0.1 >/dev/null
swift build --scratch-path .build-nl --build-tests >/dev/null
NETLINK_RECORD_NETNS=/run/netns/$ns timeout 120 swift test --scratch-path .build-nl --skip-build \
  --filter FixtureRecorder
