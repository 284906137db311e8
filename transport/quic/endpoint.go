package quic

import (
	"net"

	quicgo "github.com/quic-go/quic-go"
)

// endpoint is a UDP socket and the QUIC transport on it, shared by a
// listener and every connection made through it. It closes when the last of
// them lets go.
type endpoint struct {
	owner *Transport
	udp   *net.UDPConn
	qt    *quicgo.Transport
	refs  int // guarded by owner.mu
}

// newEndpoint opens a socket on laddr, with no references yet. quic-go
// gets the bare *net.UDPConn, on which it batches reads, segments writes
// (GSO) and reads ECN marks, none of which it can do through a wrapper.
func (t *Transport) newEndpoint(laddr *net.UDPAddr) (*endpoint, error) {
	udp, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, err
	}
	sizeBuffers(udp, t.logger())
	return &endpoint{owner: t, udp: udp, qt: &quicgo.Transport{Conn: udp}}, nil
}

// dialEndpoint returns a referenced endpoint to dial from: the listener's,
// or, when the transport has no socket, a new one on a free port.
func (t *Transport) dialEndpoint() (*endpoint, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ep == nil {
		ep, err := t.newEndpoint(nil)
		if err != nil {
			return nil, err
		}
		t.ep = ep
	}
	t.ep.refs++
	return t.ep, nil
}

// acquire adds a reference to an endpoint that has one already.
func (e *endpoint) acquire() *endpoint {
	e.owner.mu.Lock()
	e.refs++
	e.owner.mu.Unlock()
	return e
}

// release drops a reference, closing the endpoint with the last one.
func (e *endpoint) release() {
	t := e.owner
	t.mu.Lock()
	e.refs--
	last := e.refs == 0
	if last && t.ep == e {
		t.ep = nil
	}
	t.mu.Unlock()
	if last {
		e.close()
	}
}

// close closes the QUIC transport, which stops its goroutines, and then the
// socket, which the QUIC transport does not own.
func (e *endpoint) close() {
	e.qt.Close()
	e.udp.Close()
}
