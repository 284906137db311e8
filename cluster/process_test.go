//go:build unix

package cluster_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec/gob"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/transport/tcp"
)

// Environment of a child process: the address its node listens on, and the
// node it joins, if any.
const (
	childListenEnv = "PEERWEAVE_CHILD_LISTEN"
	childJoinEnv   = "PEERWEAVE_CHILD_JOIN"
)

// TestChildNode is not a test: it is the node that a child process runs when
// a test re-executes the test binary. It reports on stdout, one line each:
// "listening <addr>", then "+<addr>" and "-<addr>" as remotes come and go,
// and "msg <from> <payload>" for each message. It closes the node and exits
// when its stdin ends, so that it does not outlive a parent that died.
func TestChildNode(t *testing.T) {
	laddr := os.Getenv(childListenEnv)
	if laddr == "" {
		t.Skip("runs only in a child process of TestKilledProcess... and TestHungProcess...")
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		fmt.Printf(format+"\n", args...)
		mu.Unlock()
	}
	n, err := cluster.NewNode(laddr, append(clustertest.Fast(),
		cluster.WithTransport(tcp.New()),
		cluster.WithCodec(gob.Codec{}),
		cluster.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		cluster.WithRemoteAdded(func(r cluster.Remote) { say("+%s", r) }),
		cluster.WithRemoteRemoved(func(r cluster.Remote) { say("-%s", r) }))...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	say("listening %s", n)
	if seed := os.Getenv(childJoinEnv); seed != "" {
		if err := n.Add(seed); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	go func() {
		for m := range n.Inbox {
			say("msg %s %s", m.From, m.Payload)
		}
	}()
	io.Copy(io.Discard, os.Stdin)
	n.Close()
	os.Exit(0)
}

// child is a node in a process of its own, started by startChild.
type child struct {
	cmd  *exec.Cmd
	addr string

	mu    sync.Mutex
	lines []string           // what it reported, but its address
	said  clustertest.Signal // notified on every line
	ready chan struct{}
}

// startChild starts a child process whose node listens on laddr and joins
// join, if not empty, and waits until it listens. The process is killed when
// the test ends, whatever happens to the test.
func startChild(t *testing.T, laddr, join string) *child {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^TestChildNode$")
	cmd.Env = append(os.Environ(), childListenEnv+"="+laddr, childJoinEnv+"="+join)
	cmd.Stderr = testWriter{t, "child: "}
	_, err = cmd.StdinPipe() // closed by Wait, or by the kernel if we die
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &child{cmd: cmd, ready: make(chan struct{})}
	read := make(chan struct{})
	go func() {
		defer close(read)
		c.read(stdout)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-read // stdout is read to the end before Wait closes it
		cmd.Wait()
	})
	select {
	case <-c.ready:
	case <-read:
		t.Fatal("child exited before it listened")
	case <-time.After(waitFor):
		t.Fatal("child did not listen")
	}
	return c
}

func (c *child) read(r io.Reader) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		line := s.Text()
		if addr, ok := strings.CutPrefix(line, "listening "); ok {
			c.addr = addr
			close(c.ready)
			continue
		}
		c.mu.Lock()
		c.lines = append(c.lines, line)
		c.mu.Unlock()
		c.said.Notify()
	}
}

func (c *child) String() string { return c.addr }

// Lines returns what the child reported after it listened.
func (c *child) Lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

// remotes returns the remotes the child knows, by its reports.
func (c *child) remotes() []string {
	known := make(map[string]bool)
	for _, l := range c.Lines() {
		switch l[0] {
		case '+':
			known[l[1:]] = true
		case '-':
			delete(known, l[1:])
		}
	}
	var rs []string
	for r := range known {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return rs
}

// waitRemotes waits at most d until the child knows exactly want.
func (c *child) waitRemotes(t *testing.T, d time.Duration, want ...fmt.Stringer) {
	t.Helper()
	w := clustertest.Names(want...)
	c.said.Wait(t, d, func() bool { return slices.Equal(c.remotes(), w) }, func() string {
		return fmt.Sprintf("child %s should know exactly %v within %v, but knows %v", c, w, d, c.remotes())
	})
}

// waitLine waits until the child reported line.
func (c *child) waitLine(t *testing.T, line string) {
	t.Helper()
	c.said.Wait(t, waitFor, func() bool { return slices.Contains(c.Lines(), line) }, func() string {
		return fmt.Sprintf("child %s did not report %q", c, line)
	})
}

func (c *child) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(sig))
}

// remoteAt returns the remote at addr, "ip:port".
func remoteAt(t *testing.T, addr string) cluster.Remote {
	a, err := net.ResolveTCPAddr("tcp", addr)
	require.NoError(t, err)
	return cluster.Remote(*a)
}

func TestKilledProcessIsRemovedEverywhereAndComesBackWhenRestarted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, stacks[0])
	recs := []*recorder{newRecorder(), newRecorder()}
	survivors := []*cluster.Node{h.node(recs[0].Options()...), h.node(recs[1].Options()...)}
	mesh(t, survivors...)
	victim := startChild(t, "127.0.0.1:0", survivors[0].String())
	witness := startChild(t, "127.0.0.1:0", survivors[1].String())
	for _, n := range survivors {
		waitKnows(t, waitFor, n, append(stringers(others(n, survivors)...), victim, witness)...)
	}
	witness.waitRemotes(t, waitFor, append(stringers(survivors...), victim)...)

	// Killed: no goodbye, its sockets reset by the kernel.
	victim.signal(t, syscall.SIGKILL)
	start := time.Now()
	for _, n := range survivors {
		waitKnows(t, detection-time.Since(start), n, append(stringers(others(n, survivors)...), witness)...)
	}
	witness.waitRemotes(t, detection-time.Since(start), stringers(survivors...)...)
	t.Logf("killed process removed everywhere after %v", time.Since(start))

	// It restarts on its address without joining anyone: the reconnection
	// of the others brings it back everywhere.
	reborn := startChild(t, victim.addr, "")
	for _, n := range survivors {
		waitKnows(t, waitFor, n, append(stringers(others(n, survivors)...), reborn, witness)...)
	}
	witness.waitRemotes(t, waitFor, append(stringers(survivors...), reborn)...)
	reborn.waitRemotes(t, waitFor, append(stringers(survivors...), witness)...)
	again := []string{"+" + victim.addr, "-" + victim.addr, "+" + victim.addr}
	for i, r := range recs {
		// The callbacks come after the change of membership that the
		// waits above saw.
		r.WaitEvents(t, map[string]int{"+" + victim.addr: 2})
		assert.Equal(t, again, r.History(victim.addr), "callbacks of %s", survivors[i])
	}
	assert.Equal(t, again, clustertest.History(witness.Lines(), victim.addr), "callbacks of the witness")

	require.NoError(t, survivors[0].Send(remoteAt(t, reborn.addr), []byte("welcome back")))
	reborn.waitLine(t, fmt.Sprintf("msg %s welcome back", survivors[0]))
}

func TestHungProcessIsRemovedByHealthChecksAndRejoinsWhenItResumes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, stacks[0])
	recs := []*recorder{newRecorder(), newRecorder()}
	survivors := []*cluster.Node{h.node(recs[0].Options()...), h.node(recs[1].Options()...)}
	mesh(t, survivors...)
	hung := startChild(t, "127.0.0.1:0", survivors[0].String())
	for _, n := range survivors {
		waitKnows(t, waitFor, n, append(stringers(others(n, survivors)...), hung)...)
	}
	hung.waitRemotes(t, waitFor, stringers(survivors...)...)

	// Stopped: its sockets stay open and the kernel still acknowledges
	// what is sent to it, so only the health checks can tell.
	hung.signal(t, syscall.SIGSTOP)
	start := time.Now()
	waitViews(t, detection, map[*cluster.Node][]*cluster.Node{
		survivors[0]: {survivors[1]},
		survivors[1]: {survivors[0]},
	})
	t.Logf("hung process removed everywhere after %v", time.Since(start))
	// Its last answer came at most about a healthy interval before it
	// stopped: a much quicker removal was not the health checks' doing.
	assert.GreaterOrEqual(t, time.Since(start), clustertest.Timeout/2, "removed before its silence could be noticed")

	hung.signal(t, syscall.SIGCONT)
	for _, n := range survivors {
		waitKnows(t, waitFor, n, append(stringers(others(n, survivors)...), hung)...)
	}
	hung.waitRemotes(t, waitFor, stringers(survivors...)...)
	again := []string{"+" + hung.addr, "-" + hung.addr, "+" + hung.addr}
	for i, r := range recs {
		// The callbacks come after the change of membership that the
		// waits above saw.
		r.WaitEvents(t, map[string]int{"+" + hung.addr: 2})
		assert.Equal(t, again, r.History(hung.addr), "callbacks of %s", survivors[i])
	}
}
