package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/peerweave/peerweave/cluster"
)

// HelloSize is the size of the hello each end of a raw mesh's connections
// sends, about what a node's preamble and hello take.
const HelloSize = 100

// MeshDials is how many dials each node of a raw mesh has in flight at once,
// as many as a node dials peer-list addresses at once, so that the baseline
// opens connections the way a node may.
const MeshDials = 4

// RawMesh measures the physical cost of a full mesh of size nodes: size
// listeners on transports from newTransport, every pair dialled once (the
// lower-numbered node dials), a HelloSize-byte hello each way, every node
// dialling at once. It returns how long that took, from the first dial until
// every hello had arrived at both ends. timeout bounds each connection.
func RawMesh(newTransport func() cluster.Transport, size int, timeout time.Duration) (time.Duration, error) {
	type node struct {
		t  cluster.Transport
		ln net.Listener
	}
	nodes := make([]node, size)
	var conns sync.WaitGroup // accepting ends, which close when told
	var mu sync.Mutex        // guards open and firstErr
	var open []net.Conn
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		firstErr = cmpErr(firstErr, err)
		mu.Unlock()
	}
	keep := func(c net.Conn) {
		mu.Lock()
		open = append(open, c)
		mu.Unlock()
	}
	defer func() {
		for _, n := range nodes {
			if n.ln != nil {
				n.ln.Close()
			}
		}
		conns.Wait()
		for _, c := range open {
			c.Close()
		}
	}()
	for i := range nodes {
		t := newTransport()
		ln, err := t.Listen("127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("bench: raw mesh: %w", err)
		}
		nodes[i] = node{t, ln}
		conns.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				keep(c)
				conns.Go(func() {
					if err := hello(c, timeout, false); err != nil {
						fail(err)
					}
				})
			}
		})
	}
	start := time.Now()
	var dials sync.WaitGroup
	for i := range nodes {
		dials.Go(func() {
			sem := make(chan struct{}, MeshDials)
			var mine sync.WaitGroup
			for j := i + 1; j < size; j++ {
				sem <- struct{}{}
				mine.Go(func() {
					defer func() { <-sem }()
					ctx, cancel := context.WithTimeout(context.Background(), timeout)
					defer cancel()
					c, err := nodes[i].t.Dial(ctx, nodes[j].ln.Addr().String())
					if err != nil {
						fail(err)
						return
					}
					keep(c)
					if err := hello(c, timeout, true); err != nil {
						fail(err)
					}
				})
			}
			mine.Wait()
		})
	}
	dials.Wait()
	// Every dialler has read the acceptor's hello, which the acceptor sends
	// after reading the dialler's: both ends have theirs.
	took := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		return 0, fmt.Errorf("bench: raw mesh: %w", firstErr)
	}
	return took, nil
}

// hello sends a hello and reads one on c, the dialler first.
func hello(c net.Conn, timeout time.Duration, dialler bool) error {
	c.SetDeadline(time.Now().Add(timeout))
	var out, in [HelloSize]byte
	if dialler {
		if _, err := c.Write(out[:]); err != nil {
			return err
		}
	}
	if _, err := io.ReadFull(c, in[:]); err != nil {
		return err
	}
	if !dialler {
		if _, err := c.Write(out[:]); err != nil {
			return err
		}
	}
	return nil
}

// cmpErr keeps the first error, preferring one that is not a closed
// connection.
func cmpErr(first, err error) error {
	if first == nil || errors.Is(first, net.ErrClosed) {
		return err
	}
	return first
}
