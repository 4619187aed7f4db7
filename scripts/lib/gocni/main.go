// gocni-probe drives a conflist through containerd's go-cni exactly as containerd's CRI
// does for a pod with a published port: New(WithPluginDir, WithConfListFile), then
// Setup/Check/Remove with WithCapabilityPortMap (go-cni's PortMapping has no json tags, so
// plugins get {"HostPort":..,"ContainerPort":..,"Protocol":..,"HostIP":..}).
//
// Usage: gocni-probe setup|check|remove CONFLIST NETNS ID HOSTPORT CONTAINERPORT CNIPATH
// setup prints the go-cni result's interfaces and addresses as JSON.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	gocni "github.com/containerd/go-cni"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gocni-probe: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 8 {
		fail("usage: gocni-probe setup|check|remove CONFLIST NETNS ID HOSTPORT CONTAINERPORT CNIPATH")
	}
	verb, conflist, netns, id := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	hostPort, err1 := strconv.Atoi(os.Args[5])
	containerPort, err2 := strconv.Atoi(os.Args[6])
	if err1 != nil || err2 != nil {
		fail("ports must be numbers")
	}
	cni, err := gocni.New(gocni.WithPluginDir(strings.Split(os.Args[7], ":")),
		gocni.WithInterfacePrefix("eth"), gocni.WithConfListFile(conflist))
	if err != nil {
		fail("new: %v", err)
	}
	ports := gocni.WithCapabilityPortMap([]gocni.PortMapping{{
		HostPort: int32(hostPort), ContainerPort: int32(containerPort), Protocol: "tcp", HostIP: "127.0.0.1",
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	switch verb {
	case "setup":
		result, err := cni.Setup(ctx, id, netns, ports)
		if err != nil {
			fail("setup: %v", err)
		}
		out := map[string]interface{}{}
		for name, iface := range result.Interfaces {
			var ips []string
			for _, c := range iface.IPConfigs {
				ips = append(ips, c.IP.String())
			}
			out[name] = map[string]interface{}{"sandbox": iface.Sandbox, "ips": ips}
		}
		b, _ := json.Marshal(out)
		fmt.Println(string(b))
	case "check":
		if err := cni.Check(ctx, id, netns, ports); err != nil {
			fail("check: %v", err)
		}
	case "remove":
		if err := cni.Remove(ctx, id, netns, ports); err != nil {
			fail("remove: %v", err)
		}
	default:
		fail("unknown verb %q", verb)
	}
}
