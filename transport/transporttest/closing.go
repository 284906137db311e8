package transporttest

import (
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closeUnblocksRead: closing a connection ends a Read waiting on it.
func closeUnblocksRead(t *testing.T, newTransport NewTransport) {
	d, _, _ := pair(t, newTransport)
	read := make(chan error, 1)
	go func() {
		_, err := d.Read(make([]byte, 1))
		read <- err
	}()
	require.NoError(t, d.Close())
	err := awaitErr(t, "Read on a closed connection", func() error { return <-read })
	assert.Error(t, err, "Read on a closed connection succeeded")
}

// closeUnblocksWrite: closing a connection ends a Write blocked because the
// peer reads nothing.
func closeUnblocksWrite(t *testing.T, newTransport NewTransport) {
	d, _, _ := pair(t, newTransport)
	started := make(chan struct{})
	written := make(chan error, 1)
	go func() {
		close(started)
		written <- fill(d)
	}()
	<-started
	require.NoError(t, d.Close())
	err := awaitErr(t, "Write on a closed connection", func() error { return <-written })
	assert.Error(t, err, "Write on a closed connection succeeded")
}

// diallerCloseDeliversData: see closeDeliversData.
func diallerCloseDeliversData(t *testing.T, newTransport NewTransport) {
	d, a, _ := pair(t, newTransport)
	closeDeliversData(t, d, a)
}

// acceptorCloseDeliversData: see closeDeliversData. A node that rejects a
// dialler writes why and closes.
func acceptorCloseDeliversData(t *testing.T, newTransport NewTransport) {
	d, a, _ := pair(t, newTransport)
	closeDeliversData(t, a, d)
}

// closeDeliversData checks that what w writes just before it closes reaches
// r, followed by io.EOF: a large write, then many small ones as a node's
// last messages and goodbye would be.
func closeDeliversData(t *testing.T, w, r net.Conn) {
	t.Helper()
	want := random(1<<20+1000, 4)
	closed := make(chan error, 1)
	go func() {
		if _, err := w.Write(want[:1<<20]); err != nil {
			closed <- err
			return
		}
		for i := 1 << 20; i < len(want); i += 10 {
			if _, err := w.Write(want[i : i+10]); err != nil {
				closed <- err
				return
			}
		}
		closed <- w.Close()
	}()
	got, err := await(t, "reading until the peer closes", func() ([]byte, error) { return io.ReadAll(r) })
	require.NoError(t, err, "read after the peer closed gracefully must end with io.EOF, after %d bytes", len(got))
	require.Equal(t, len(want), len(got), "bytes written before Close were lost")
	require.Equal(t, want, got)
	require.NoError(t, <-closed, "write or close")
	_, err = r.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "Read after the peer's close")
}

// listenerCloseUnblocksAccept: closing a listener ends a pending Accept with
// net.ErrClosed, which a node's accept loop takes as the signal to stop.
func listenerCloseUnblocksAccept(t *testing.T, newTransport NewTransport) {
	ln := listen(t, newTransport)
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	require.NoError(t, ln.Close())
	err := awaitErr(t, "Accept on a closed listener", func() error { return <-accepted })
	assert.ErrorIs(t, err, net.ErrClosed, "Accept on a closed listener")
}

// listenerCloseKeepsConns: connections outlive their listener. A node closes
// its listener first when it shuts down, then says goodbye on each.
func listenerCloseKeepsConns(t *testing.T, newTransport NewTransport) {
	d, a, ln := pair(t, newTransport)
	require.NoError(t, ln.Close())
	exchange(t, d, a)
	closeDeliversData(t, d, a)
}
