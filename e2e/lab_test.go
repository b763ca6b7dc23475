package e2e_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// A network lab: network namespaces a test builds for itself and removes
// when it ends. Every address lives only inside the lab's namespaces, and
// every interface is created inside them (never in the host's namespace),
// so deleting the namespaces removes everything the lab made.
//
//	             public segment 10.201.0.0/24 (bridge br0 in the server namespace)
//	     srv: 10.201.0.2 (termcall serve)
//	      |                                   |
//	nat1: wan 10.201.0.11                nat2: wan 10.201.0.12
//	      lan 10.201.1.1  MASQUERADE          lan 10.201.2.1  MASQUERADE
//	      |               --random-fully      |               --random-fully
//	cli1: 10.201.1.2                     cli2: 10.201.2.2
//
// The routers have no default route: the public segment is the whole
// "internet", so a home network's private addresses are unreachable from
// the other, as on the real one.

// labServerIP is the server host's address on the public segment.
const labServerIP = "10.201.0.2"

// labSeq makes namespace names unique within this test process; the pid
// makes them unique across processes (parallel runs on a shared machine).
var labSeq atomic.Int64 //nolint:gochecknoglobals // a counter for unique names

// labPrefix starts every lab namespace name; the pid follows it.
const labPrefix = "tclab-"

// lab is one test's namespaces.
type lab struct {
	t      *testing.T
	prefix string    // of every namespace name here
	Server string    // namespace of the server host
	NAT    [2]string // the home routers
	Client [2]string // one client host behind each router
	all    []string  // every namespace made, for cleanup
}

// run runs a command and fails with its output.
func labRun(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newLab builds the topology above, or skips the test where namespaces
// cannot be made (not root, a container without CAP_SYS_ADMIN) or the
// tools are missing (`make deps` installs them).
func newLab(t *testing.T) *lab {
	t.Helper()
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("network lab: %s not installed (make deps installs iproute2 and iptables): %v", tool, err)
		}
	}
	sweepStaleLabs(t)
	id := fmt.Sprintf("%s%d-%d-", labPrefix, os.Getpid(), labSeq.Add(1))
	l := &lab{t: t, prefix: id, Server: id + "srv", NAT: [2]string{id + "nat1", id + "nat2"}, Client: [2]string{id + "cli1", id + "cli2"}}
	// Registered before anything is made, so that a failure half-way
	// still removes what was made.
	t.Cleanup(l.remove)

	if out, err := exec.Command("ip", "netns", "add", l.Server).CombinedOutput(); err != nil {
		if os.Geteuid() != 0 || strings.Contains(string(out), "Operation not permitted") || errors.Is(err, syscall.EPERM) {
			t.Skipf("network lab: the kernel refuses network namespaces here (need root/CAP_SYS_ADMIN): %v: %s", err, strings.TrimSpace(string(out)))
		}
		t.Fatalf("ip netns add %s: %v: %s", l.Server, err, out)
	}
	l.all = append(l.all, l.Server)
	for _, ns := range []string{l.NAT[0], l.NAT[1], l.Client[0], l.Client[1]} {
		l.must("ip", "netns", "add", ns)
		l.all = append(l.all, ns)
	}
	for _, ns := range l.all {
		l.must("ip", "-n", ns, "link", "set", "lo", "up")
	}

	// The public segment: a bridge in the server's namespace, the server's
	// address on it, one port per router.
	l.must("ip", "-n", l.Server, "link", "add", "br0", "type", "bridge")
	l.must("ip", "-n", l.Server, "addr", "add", labServerIP+"/24", "dev", "br0")
	l.must("ip", "-n", l.Server, "link", "set", "br0", "up")
	for i := range 2 {
		nat, cli := l.NAT[i], l.Client[i]
		port := fmt.Sprintf("port%d", i+1)
		wan := fmt.Sprintf("10.201.0.%d/24", 11+i)
		lanNet := fmt.Sprintf("10.201.%d", i+1)
		l.must("ip", "-n", l.Server, "link", "add", port, "type", "veth", "peer", "name", "wan", "netns", nat)
		l.must("ip", "-n", l.Server, "link", "set", port, "master", "br0")
		l.must("ip", "-n", l.Server, "link", "set", port, "up")
		l.must("ip", "-n", nat, "addr", "add", wan, "dev", "wan")
		l.must("ip", "-n", nat, "link", "set", "wan", "up")

		l.must("ip", "-n", nat, "link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", cli)
		l.must("ip", "-n", nat, "addr", "add", lanNet+".1/24", "dev", "lan")
		l.must("ip", "-n", nat, "link", "set", "lan", "up")
		l.must("ip", "-n", cli, "addr", "add", lanNet+".2/24", "dev", "eth0")
		l.must("ip", "-n", cli, "link", "set", "eth0", "up")
		l.must("ip", "-n", cli, "route", "add", "default", "via", lanNet+".1")

		// /proc/sys/net is the reading process's namespace's, so this sets
		// the router's own forwarding (procps' sysctl may not be installed).
		l.must("ip", "netns", "exec", nat, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")
		// --random-fully: a fresh random port per mapping, the NAT that
		// defeats hole punching (two of them need a relay).
		l.must("ip", "netns", "exec", nat, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE", "--random-fully")
	}
	return l
}

// BlockUDP makes home network i (0 or 1) drop all forwarded UDP, as
// networks that allow only TCP out do.
func (l *lab) BlockUDP(i int) {
	l.t.Helper()
	l.must("ip", "netns", "exec", l.NAT[i], "iptables", "-A", "FORWARD", "-p", "udp", "-j", "DROP")
}

// MoveClient takes client host i (0 or 1) off its network and brings it
// back with address ip (in its home network's /24), as a laptop does when
// its Wi-Fi drops and rejoins with a new lease: sockets bound to the old
// address go dead without being told, and the router maps the new one
// afresh.
func (l *lab) MoveClient(i int, ip string) {
	l.t.Helper()
	cli, gw := l.Client[i], fmt.Sprintf("10.201.%d.1", i+1)
	l.must("ip", "-n", cli, "link", "set", "eth0", "down")
	l.must("ip", "-n", cli, "addr", "flush", "dev", "eth0")
	l.must("ip", "-n", cli, "addr", "add", ip+"/24", "dev", "eth0")
	l.must("ip", "-n", cli, "link", "set", "eth0", "up")
	l.must("ip", "-n", cli, "route", "add", "default", "via", gw)
}

func (l *lab) must(args ...string) {
	l.t.Helper()
	if err := labRun(args...); err != nil {
		l.t.Fatalf("network lab: %v", err)
	}
}

// remove deletes the lab's namespaces; their interfaces go with them.
// Processes still inside keep a namespace alive only until they exit,
// and the tests stop theirs in cleanups registered later (so run first).
func (l *lab) remove() {
	for _, ns := range l.all {
		if err := labRun("ip", "netns", "del", ns); err != nil {
			l.t.Errorf("network lab cleanup: %v", err)
		}
	}
	if left := labNamespaces(l.t, l.prefix); len(left) > 0 {
		l.t.Errorf("network lab cleanup: namespaces left: %v", left)
	}
}

// labNamespaces lists the namespaces whose names start with prefix.
func labNamespaces(t *testing.T, prefix string) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Errorf("ip netns list: %v", err)
		return nil
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		// Lines are "NAME" or "NAME (id: N)".
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			names = append(names, f[0])
		}
	}
	return names
}

// sweepStaleLabs deletes lab namespaces of test processes that no longer
// exist: t.Cleanup does not run when a test binary is killed (a -timeout
// panic, ^C). Namespaces of live processes, other runs', are left alone.
func sweepStaleLabs(t *testing.T) {
	t.Helper()
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(labPrefix) + `(\d+)-`)
	for _, ns := range labNamespaces(t, labPrefix) {
		m := re.FindStringSubmatch(ns)
		if m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", m[1])); err == nil {
			continue // its process still runs
		}
		if err := labRun("ip", "netns", "del", ns); err != nil {
			t.Logf("network lab: removing a stale namespace: %v", err)
		}
	}
}

// startServerIn runs `termcall serve` inside namespace ns, listening on
// addr (an address of that namespace, port 0 for any) with extra flags.
func startServerIn(t *testing.T, ns, addr string, extra ...string) *server {
	t.Helper()
	return runServe(t, ns, append([]string{"--addr", addr}, extra...)...)
}

// mediaClientIn runs a headless media client as user inside namespace ns
// against s, with ordinary ICE (host candidates on the namespace's
// interfaces, not --ice-loopback), and waits for its SDK_READY.
func mediaClientIn(t *testing.T, ns string, s *server, user string, args ...string) *client {
	t.Helper()
	return s.startClient(t, user, clientOpts{media: true, netns: ns, args: args})
}
