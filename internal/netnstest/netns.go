// Package netnstest runs nodes on real kernel links: two network namespaces
// joined by a veth pair whose both ends the kernel's tbf shaper slows down,
// so that a node's sockets have real send buffers, acknowledgements and
// queues, as on a slow network, in one test process.
//
// It needs root, ip and tc (iproute2), and runs only when PEERWEAVE_NETNS
// is set, since it changes the machine's network setup for a while; a test
// that calls Shaped is skipped, with the reason, otherwise. CI runs it:
//
//	PEERWEAVE_NETNS=1 go test -count=1 ./internal/netnstest
package netnstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/peerweave/peerweave/transport"
)

// Link is a pair of network namespaces joined by a shaped veth pair: A at
// AddrA, B at AddrB.
type Link struct {
	A, B         *Namespace
	AddrA, AddrB string // IP addresses, without a port
}

// Namespace is one network namespace of a Link.
type Namespace struct {
	name string
	fd   *os.File
}

// Shaped makes a Link whose both directions tbf limits to rate ("4mbit"),
// with a burst of 32 kbit and a queue of 400 ms, or skips t if the machine
// does not allow it. The namespaces have names of their own, so that tests
// in parallel do not collide, and go when t ends.
func Shaped(t testing.TB, rate string) *Link {
	t.Helper()
	if os.Getenv("PEERWEAVE_NETNS") == "" {
		t.Skip("network namespace tests run only with PEERWEAVE_NETNS=1")
	}
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s (iproute2) is missing: %v", tool, err)
		}
	}
	id := make([]byte, 3)
	rand.Read(id)
	tag := "pw" + hex.EncodeToString(id)
	l := &Link{AddrA: "10.77.0.1", AddrB: "10.77.0.2"}
	na, nb := tag+"-a", tag+"-b"
	va, vb := tag+"a", tag+"b"
	t.Cleanup(func() {
		run(nil, "ip", "netns", "del", na)
		run(nil, "ip", "netns", "del", nb)
	})
	for _, c := range [][]string{
		{"ip", "netns", "add", na},
		{"ip", "netns", "add", nb},
		{"ip", "link", "add", va, "netns", na, "type", "veth", "peer", "name", vb, "netns", nb},
		{"ip", "-n", na, "addr", "add", l.AddrA + "/24", "dev", va},
		{"ip", "-n", nb, "addr", "add", l.AddrB + "/24", "dev", vb},
		{"ip", "-n", na, "link", "set", va, "up"},
		{"ip", "-n", nb, "link", "set", vb, "up"},
		{"ip", "-n", na, "link", "set", "lo", "up"},
		{"ip", "-n", nb, "link", "set", "lo", "up"},
		{"ip", "netns", "exec", na, "tc", "qdisc", "add", "dev", va, "root", "tbf", "rate", rate, "burst", "32kbit", "latency", "400ms"},
		{"ip", "netns", "exec", nb, "tc", "qdisc", "add", "dev", vb, "root", "tbf", "rate", rate, "burst", "32kbit", "latency", "400ms"},
	} {
		if err := run(t, c...); err != nil {
			t.Skipf("cannot set up the namespaces: %v", err)
		}
	}
	l.A, l.B = open(t, na), open(t, nb)
	return l
}

// run runs a command, logging it to t if not nil.
func run(t testing.TB, args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, out)
	}
	if t != nil {
		t.Logf("%s", strings.Join(args, " "))
	}
	return nil
}

// open opens the namespace called name.
func open(t testing.TB, name string) *Namespace {
	f, err := os.Open("/var/run/netns/" + name)
	if err != nil {
		t.Skipf("cannot open namespace %s: %v", name, err)
	}
	t.Cleanup(func() { f.Close() })
	return &Namespace{name: name, fd: f}
}

// Transport returns tr with its sockets made in ns: Listen and Dial run on
// a thread that has entered ns. A socket stays in the namespace it was made
// in, whichever thread uses it later, so a transport whose dials use its
// listener's socket (QUIC) needs only Listen to run there.
func (ns *Namespace) Transport(tr transport.Transport) transport.Transport {
	return nsTransport{ns: ns, tr: tr}
}

type nsTransport struct {
	ns *Namespace
	tr transport.Transport
}

func (t nsTransport) Listen(laddr string) (ln net.Listener, err error) {
	err = t.ns.do(func() error {
		ln, err = t.tr.Listen(laddr)
		return err
	})
	return ln, err
}

func (t nsTransport) Dial(ctx context.Context, raddr string) (c net.Conn, err error) {
	err = t.ns.do(func() error {
		c, err = t.tr.Dial(ctx, raddr)
		return err
	})
	return c, err
}

// do runs f on a thread in ns. The thread never leaves the namespace: its
// goroutine ends locked to it, and the runtime then ends the thread.
func (ns *Namespace) do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.fd.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", ns.name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}
