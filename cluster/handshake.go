package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/peerweave/peerweave/internal/addr"
	"github.com/peerweave/peerweave/internal/link"
	"github.com/peerweave/peerweave/internal/wire"
)

// connect dials the node at k and registers it as a remote; why says why it
// dials.
func (n *Node) connect(ctx context.Context, k netip.AddrPort, why dialCause) (err error) {
	ctx, cancel := context.WithTimeoutCause(ctx, n.networkTimeout(), ErrTimeout)
	defer cancel()
	defer afterFunc(n.ctx, cancel)()
	n.work.dials.Add(1)
	conn, err := n.cfg.transport.Dial(ctx, k.String())
	if err != nil {
		err = fmt.Errorf("dial: %w", cause(ctx, err))
		n.emit(Event{Kind: EventDial, Addr: k, Err: err})
		return err
	}
	n.emit(Event{Kind: EventDial, Addr: k})
	secured, err := n.secure(ctx, conn, true)
	if err != nil {
		conn.Close()
		err = cause(ctx, err)
		n.emit(Event{Kind: EventHandshakeFailed, Addr: k, Dialled: true, Err: handshakeCause(err)})
		return err
	}
	conn = secured
	p := n.newPeer(conn)
	admitted := false
	defer func() {
		if !admitted {
			conn.Close()
			if err != nil {
				n.emit(Event{Kind: EventHandshakeFailed, Addr: k, Dialled: true, Err: handshakeCause(err), Name: p.name, Label: p.label})
			}
		}
	}()
	stop := n.interrupt(ctx, p)
	verdict, err := p.dialHandshake(k, why)
	stop()
	if err == nil && ctx.Err() != nil {
		err = errors.New("handshake interrupted")
	}
	if err != nil {
		if p.helloSent && n.closing() {
			// Close cut us short after our hello, which the acceptor
			// may have taken: tell it we are leaving. A caller that
			// gave up does not leave: the acceptor, if it took the
			// connection, takes its end for a crash, and this node
			// redials (retryCut).
			p.goodbye()
		} else if p.helloSent && why.joins() && !refused(err) {
			n.retryCut(k)
		}
		return cause(ctx, err)
	}
	switch verdict.Code {
	case 0:
	case wire.RejectSelf:
		return n.selfFound(k, p)
	case wire.RejectDuplicate:
		n.work.tieLosses.Add(1)
		n.reachedBy(p, k, why.joins())
		if why == byCheck {
			return answeredAs{p.name}
		}
		return n.awaitRemote(ctx, p.key)
	case wire.RejectGone:
		return n.refusedAsGone(k, p, why)
	case wire.RejectAuth:
		return fmt.Errorf("%w: the peer refused our proof of the shared secret", ErrAuth)
	case wire.RejectLabel, wire.RejectName:
		return fmt.Errorf("%w: refused by the peer: %s", identityError(verdict.Code), verdict.Reason)
	default:
		return fmt.Errorf("%w: %s", ErrRejected, verdict.Reason)
	}
	if p.label != n.cfg.label {
		// The acceptor should have refused us.
		p.goodbye()
		return fmt.Errorf("%w: the peer's label is %q, this node's %q", identityError(wire.RejectLabel), p.label, n.cfg.label)
	}
	if code := n.admit(p, false); code != 0 {
		// The acceptor took the connection; we cannot.
		p.goodbye()
		if code == wire.RejectDuplicate {
			n.work.tieLosses.Add(1)
			n.reachedBy(p, k, why.joins())
			return nil
		}
		if err := identityError(code); err != nil {
			return fmt.Errorf("%w: the peer's name %q", err, p.name)
		}
		return fmt.Errorf("%w: %s", ErrRejected, rejectReason(code))
	}
	admitted = true
	n.reachedBy(p, k, why.joins())
	return nil
}

// interrupt unblocks p's handshake when ctx ends, unless p has been admitted
// by then: Close says goodbye to admitted peers itself.
func (n *Node) interrupt(ctx context.Context, p *peer) (stop func()) {
	return afterFunc(ctx, func() { n.interruptHandshake(p) })
}

// afterFunc is context.AfterFunc whose stop function also waits for a call
// of f that has started, so that no goroutine of it outlives the caller.
func afterFunc(ctx context.Context, f func()) (stop func()) {
	done := make(chan struct{})
	s := context.AfterFunc(ctx, func() {
		defer close(done)
		f()
	})
	return func() {
		if !s() {
			<-done
		}
	}
}

// cause prefers the reason ctx ended over the error it caused: ErrTimeout
// when the network timeout of connect passed, else the caller's context's
// error and cause (see ctxErr). A deadline of the connection's that passed
// while ctx had not ended yet is the network timeout too: the handshake
// sets it to that, and it may fire a moment before ctx's own timer.
func cause(ctx context.Context, err error) error {
	switch c := context.Cause(ctx); {
	case c == nil && link.IsTimeout(err):
		return fmt.Errorf("%w (%v)", ErrTimeout, err)
	case c == nil:
		return err
	case c == ErrTimeout:
		return fmt.Errorf("%w (%v)", c, err)
	}
	return fmt.Errorf("%w (%v)", ctxErr(ctx), err)
}

// dialHandshake writes the dialler's preamble and hello, reads the
// acceptor's, and returns its verdict. k is the address dialled. With a
// secret, the two sides prove it first, and the hellos follow.
func (p *peer) dialHandshake(k netip.AddrPort, why dialCause) (wire.Reject, error) {
	n := p.n
	p.conn.SetDeadline(time.Now().Add(n.networkTimeout()))
	p.ctrl = append(p.ctrl, n.preamble...)
	if n.tls != nil {
		if r, err := p.proveToAcceptor(); err != nil || r.Code != 0 {
			return r, err
		}
	}
	ours := n.hello(p, why)
	if err := p.appendControl(wire.KindHello, ours); err != nil {
		return wire.Reject{}, err
	}
	if err := p.flushHandshake(); err != nil {
		return wire.Reject{}, err
	}
	p.helloSent = true
	if n.tls == nil {
		if _, err := p.readPreamble(); err != nil {
			return wire.Reject{}, err
		}
	}
	if _, err := p.readHello(); err != nil {
		return wire.Reject{}, err
	}
	p.join = why.joins() // on both ends, whether the dialler joined
	if p.key != k {
		n.aliasDialing(k, p.key)
	}
	return p.readVerdict()
}

// hello returns this node's hello for p.
func (n *Node) hello(p *peer, why dialCause) *wire.Hello {
	h := &wire.Hello{Addr: n.id.advertise.String(), Nonce: n.nonce, Join: why.joins(), Redial: why.redials(),
		Name: n.id.name, Label: n.cfg.label}
	h.Tags, h.TagsVersion = n.ownTags()
	p.sentTags = h.TagsVersion
	return h
}

// flushHandshake writes what the handshake queued and empties the queue.
func (p *peer) flushHandshake() error {
	if _, err := p.conn.Write(p.ctrl); err != nil {
		return fmt.Errorf("write handshake: %w", err)
	}
	p.ctrl = p.ctrl[:0]
	return nil
}

// readPreamble reads the other side's preamble, checks that it speaks a
// protocol version of ours and our codec, and sets the version to speak.
func (p *peer) readPreamble() (wire.Preamble, error) {
	if p.n.tls == nil {
		if err := p.refuseTLS(); err != nil {
			return wire.Preamble{}, err
		}
	}
	pre, err := wire.ReadPreamble(p.br)
	if errors.Is(err, wire.ErrBadMagic) {
		return pre, protocolError{fmt.Errorf("%w: %v", ErrIncompatible, err)}
	}
	if err != nil {
		return pre, err
	}
	return pre, p.negotiate(pre)
}

// readHello reads the other side's hello and sets the peer's identity from it.
func (p *peer) readHello() (*wire.Hello, error) {
	h := new(wire.Hello)
	if err := p.readExpected(wire.KindHello, h); err != nil {
		return nil, err
	}
	k, err := addr.Parse(h.Addr)
	if err != nil || k.Port() == 0 {
		return nil, protocolError{fmt.Errorf("hello with bad address %q", h.Addr)}
	}
	if len(h.Nonce) == 0 {
		return nil, protocolError{errors.New("hello without a nonce")}
	}
	for _, b := range [][]byte{h.Nonce, h.Challenge, h.Proof} {
		if len(b) > maxHelloField {
			return nil, protocolError{fmt.Errorf("hello with a %d-byte field", len(b))}
		}
	}
	if len(h.Name) > MaxNameLen || len(h.Label) > MaxNameLen {
		return nil, protocolError{fmt.Errorf("hello with a name or label over %d bytes", MaxNameLen)}
	}
	tags, err := p.n.parseTags(h.Tags)
	if err != nil {
		return nil, protocolError{fmt.Errorf("hello: %w", err)}
	}
	if k.Addr().IsUnspecified() {
		// The remote listens on every interface: reach it where it came from.
		from, err := addr.Of(p.conn.RemoteAddr())
		if err != nil {
			return nil, protocolError{fmt.Errorf("hello with unspecified address %q from %s", h.Addr, p.conn.RemoteAddr())}
		}
		k = netip.AddrPortFrom(from.Addr(), k.Port())
	}
	if p.n.ownAddr(k) && !bytes.Equal(h.Nonce, p.n.nonce) {
		return nil, protocolError{fmt.Errorf("hello claims this node's own address %s", k)}
	}
	p.key, p.nonce, p.join, p.redial = k, h.Nonce, h.Join, h.Redial
	p.name, p.label = h.Name, h.Label
	p.tags.Store(&tagSet{version: h.TagsVersion, m: tags})
	return h, nil
}

// maxHelloField bounds the byte fields of a hello.
const maxHelloField = 64

// readExpected reads the next frame, which must be of kind k, into v.
func (p *peer) readExpected(k wire.Kind, v any) error {
	got, size, err := p.readHeader()
	if err != nil {
		return truncated(err)
	}
	if got != k {
		return protocolError{fmt.Errorf("%s frame where %s was due", got, k)}
	}
	return p.readControl(size, v)
}

// readVerdict reads the acceptor's Welcome or Reject.
func (p *peer) readVerdict() (wire.Reject, error) {
	k, size, err := p.readHeader()
	if err != nil {
		return wire.Reject{}, truncated(err)
	}
	switch k {
	case wire.KindWelcome:
		return wire.Reject{}, nil
	case wire.KindReject:
		return p.readReject(size)
	}
	return wire.Reject{}, protocolError{fmt.Errorf("%s frame where a verdict was due", k)}
}

// readReject reads the body of a Reject frame of size bytes.
func (p *peer) readReject(size int) (wire.Reject, error) {
	var r wire.Reject
	if err := p.readControl(size, &r); err != nil {
		return r, err
	}
	if r.Code == 0 {
		return r, protocolError{errors.New("reject without a code")}
	}
	return r, nil
}

// serve runs the acceptor's side of a connection: handshake, within the
// handshake timeout and holding a slot of the gate until its verdict, then
// reading.
func (n *Node) serve(conn net.Conn) {
	deadline := time.Now().Add(n.handshakeTimeout())
	conn.SetDeadline(deadline)
	secured, err := n.secure(n.ctx, conn, false)
	if err != nil {
		n.leaveGate(conn)
		n.emit(Event{Kind: EventHandshakeFailed, From: conn.RemoteAddr(), Err: handshakeCause(err)})
		conn.Close()
		return
	}
	p := n.newPeer(secured)
	stop := n.interrupt(n.ctx, p)
	err = p.acceptHandshake(deadline)
	stop()
	n.leaveGate(conn)
	if err != nil {
		n.emit(Event{Kind: EventHandshakeFailed, Addr: p.key, From: conn.RemoteAddr(), Err: handshakeCause(err), Name: p.name, Label: p.label})
		secured.Close()
		return
	}
	p.readLoop()
}

// acceptHandshake reads the dialler's preamble and, with a secret, checks
// its proof and proves it in turn; then reads its hello, answers with ours
// and a verdict, and registers the remote if the verdict is a welcome. The
// caller set the connection's deadline. A large hello waits for room
// (helloroom.go).
func (p *peer) acceptHandshake(deadline time.Time) error {
	n := p.n
	pre, err := p.readPreamble()
	p.ctrl = append(p.ctrl, n.preamble...)
	if errors.Is(err, ErrIncompatible) {
		// Tell the dialler what we speak, so that it can say why it failed.
		p.conn.Write(p.ctrl)
	}
	if err != nil {
		return truncated(err)
	}
	if n.tls != nil {
		code, err := p.checkDialler(pre)
		if err != nil {
			return err
		}
		if code != 0 {
			return p.refuse(code)
		}
	}
	size, err := p.helloSize()
	if err != nil {
		return truncated(err)
	}
	give, err := n.roomForHello(p.conn, size, deadline)
	if err != nil {
		return err
	}
	_, err = p.readHello()
	give()
	if err != nil {
		return truncated(err)
	}
	if err := p.appendControl(wire.KindHello, n.hello(p, byList)); err != nil {
		return err
	}
	code := wire.RejectCode(0)
	if p.label != n.cfg.label {
		code = wire.RejectLabel
	}
	if code == 0 {
		code = n.admit(p, true)
	}
	if code == 0 {
		return nil
	}
	return p.refuse(code)
}

// refuse writes what the handshake queued and a Reject with code, and
// returns the refusal.
func (p *peer) refuse(code wire.RejectCode) error {
	if err := p.appendControl(wire.KindReject, &wire.Reject{Code: code, Reason: rejectReason(code)}); err != nil {
		return err
	}
	p.conn.Write(p.ctrl)
	return refusal{code}
}

// refusal is the acceptor's record of a connection it rejected.
type refusal struct{ code wire.RejectCode }

func (r refusal) Error() string { return "rejected: " + rejectReason(r.code) }

func rejectReason(c wire.RejectCode) string {
	switch c {
	case wire.RejectDuplicate:
		return "already connected"
	case wire.RejectSelf:
		return "connected to itself"
	case wire.RejectClosing:
		return "node is closing"
	case wire.RejectGone:
		return "said goodbye before"
	case wire.RejectAuth:
		return "authentication failed"
	case wire.RejectLabel:
		return "another cluster label"
	case wire.RejectName:
		return "name in use by another live node"
	}
	return fmt.Sprintf("code %d", c)
}
