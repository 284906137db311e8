package quic

import (
	"context"
	"fmt"
	"net"
	"sync"

	quicgo "github.com/quic-go/quic-go"
)

// backlog is how many incoming connections a listener sets up or holds
// before Accept takes them; more wait in quic-go's own accept queue.
const backlog = 64

// listener hands out the connections that complete their handshake and
// open their stream, each set up on a goroutine of its own so that a slow
// peer delays no other.
type listener struct {
	t     *Transport
	ep    *endpoint
	ql    *quicgo.Listener
	conns chan *conn    // set up, waiting for Accept
	slots chan struct{} // one per connection being set up or waiting

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // run and the setups
	once   sync.Once
}

func newListener(t *Transport, ep *endpoint, ql *quicgo.Listener) *listener {
	l := &listener{t: t, ep: ep, ql: ql, conns: make(chan *conn), slots: make(chan struct{}, backlog)}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.wg.Go(l.run)
	return l
}

// run takes handshaken connections from quic-go until the listener closes,
// and then refuses those still queued.
func (l *listener) run() {
	for {
		select {
		case l.slots <- struct{}{}:
		case <-l.ctx.Done():
		}
		qc, err := l.ql.Accept(context.Background())
		if err != nil {
			return
		}
		if l.ctx.Err() != nil {
			qc.CloseWithError(codeAbort, "listener closed")
			continue
		}
		l.wg.Go(func() { l.setup(qc) })
	}
}

// setup accepts qc's stream, within the handshake timeout, and offers the
// connection to Accept.
func (l *listener) setup(qc *quicgo.Conn) {
	defer func() { <-l.slots }()
	st, err := l.acceptStream(qc)
	if err != nil {
		qc.CloseWithError(codeAbort, "no stream")
		return
	}
	c := newConn(qc, st, l.ep.acquire(), l.t.cfg.linger)
	select {
	case l.conns <- c:
	case <-l.ctx.Done():
		c.abort()
	}
}

// acceptStream accepts the stream the dialler opened, checks its header and
// answers it, within the handshake timeout.
func (l *listener) acceptStream(qc *quicgo.Conn) (*quicgo.Stream, error) {
	ctx, cancel := context.WithTimeout(l.ctx, l.t.cfg.handshakeTimeout)
	defer cancel()
	st, err := qc.AcceptStream(ctx)
	if err != nil {
		return nil, err
	}
	if err := readHeader(ctx, st); err != nil {
		return nil, err
	}
	if _, err := st.Write([]byte{streamHeader}); err != nil {
		return nil, err
	}
	return st, nil
}

// Accept returns the next connection, or net.ErrClosed once the listener is
// closed.
func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.ctx.Done():
		return nil, fmt.Errorf("quic: accept: %w", net.ErrClosed)
	}
}

// Close stops accepting. Connections Accept returned stay open; ones being
// set up are refused.
func (l *listener) Close() error {
	l.once.Do(func() {
		l.cancel()
		l.ql.Close()
		l.wg.Wait()
		l.t.mu.Lock()
		l.t.listening = false
		l.t.mu.Unlock()
		l.ep.release()
	})
	return nil
}

// Addr returns the listening socket's address, a *net.UDPAddr.
func (l *listener) Addr() net.Addr { return l.ep.udp.LocalAddr() }
