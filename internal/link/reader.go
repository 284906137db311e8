package link

import (
	"errors"
	"fmt"
	"io"

	"github.com/peerweave/peerweave/internal/wire"
)

// Tag is what a Request or Reply frame says of the payload after it; the
// zero Tag, of a plain message, says nothing.
type Tag struct {
	Kind   wire.Kind // KindRequest or KindReply; 0 for none
	ID     uint64
	Status byte // a reply's
}

// ErrRelieved ends a reader whose connection another reader took over
// (Relieve): a Payload call returns it, and the reader returns at once,
// touching nothing of the link's reading state.
var ErrRelieved = errors.New("another reader took over")

// errGoodbye ends the reader after a goodbye either way.
var errGoodbye = errors.New("goodbye")

// ReadLoop reads frames until the connection ends, tells the node why
// (Closed, unless it ended during a goodbye), waits for the writer, and
// says the link's counts are final (Exited). A reader that another took
// over from just returns.
func (l *Link) ReadLoop() {
	err := l.read()
	if err == ErrRelieved {
		return
	}
	switch {
	case err == errGoodbye:
	case l.State().Leaving():
		l.Close() // whoever started the goodbye finishes it
	default:
		l.h.Closed(err)
	}
	l.StopWriters()
	l.watch.stop() // no writer runs: the watchdog is the reader's now
	l.h.Exited()
}

// Relieve starts a new reader that takes the connection over from the one
// that is in a Payload call, after the frame it is in: the node calls it
// when that call waits for what the connection brings. The caller makes
// sure that the old reader touches nothing of the link's reading state
// until it finds out and returns ErrRelieved.
func (l *Link) Relieve() {
	l.br = l.br.After(l.unread, readerFunc(l.readConn))
	l.scratch = nil // may hold the payload of the call
	l.cfg.Go(l.ReadLoop)
}

// readerFunc makes a function an io.Reader.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

// read handles frames until one ends the link.
func (l *Link) read() error {
	for {
		k, size, err := l.br.ReadHeader(l.cfg.MaxMessage, l.cfg.MaxTags, l.cfg.LastKind)
		if err == io.EOF && l.State() == GotBye {
			// The remote half-closed after its goodbye: our writer
			// finishes ours (see GotBye).
			return errGoodbye
		}
		if err != nil {
			return err
		}
		switch k {
		case wire.KindData, wire.KindFirst, wire.KindMore:
			err = l.readData(k, size)
		case wire.KindWindow:
			err = l.readWindow(size)
		case wire.KindRequest, wire.KindReply:
			err = l.readTag(k, size)
		case wire.KindCancel:
			err = l.readCancel(size)
		case wire.KindPing:
			l.Control(wire.KindPong, nil)
		case wire.KindPong:
			l.pong() // a read is what keeps the remote from silence (readConn)
		case wire.KindBye:
			l.h.Goodbye()
			if l.GotBye() {
				return errGoodbye
			}
			// Read on: the remote grants room for what is still queued
			// for it, and hangs up once it has our acknowledgement.
		case wire.KindByeAck:
			if !l.AckReceived() {
				return ProtocolError{errors.New("acknowledgement of a goodbye never said")}
			}
			return errGoodbye
		case wire.KindHello, wire.KindWelcome, wire.KindReject, wire.KindAuth:
			return ProtocolError{fmt.Errorf("unexpected %s frame", k)}
		default:
			err = l.readControl(k, size)
		}
		if err != nil {
			return err
		}
	}
}

// readControl reads the body of a control frame the link does not
// understand itself and hands it to the node.
func (l *Link) readControl(k wire.Kind, size int) error {
	b, err := l.br.ReadBody(l.scratch[:0], size, EagerRead)
	l.scratch = b
	if err != nil {
		return err
	}
	if err := l.h.Control(k, b); err != nil {
		return err
	}
	if cap(l.scratch) > MaxSpare {
		l.scratch = nil
	}
	return nil
}

// readWindow reads a Window frame: the remote opens its window into our
// sends.
func (l *Link) readWindow(size int) error {
	b, err := l.br.PeekBody(wire.KindWindow, size, wire.WindowSize)
	if err != nil {
		return err
	}
	w, err := wire.ParseWindow(b)
	if err != nil {
		return ProtocolError{err}
	}
	l.br.Discard(size)
	if err := l.Opened(int(w.Increment)); err != nil {
		return ProtocolError{err}
	}
	l.h.Opened()
	return nil
}

// readTag reads a Request or Reply frame of size bytes, the tag of the
// payload that follows it.
func (l *Link) readTag(k wire.Kind, size int) error {
	switch {
	case l.State() == GotBye:
		return ProtocolError{fmt.Errorf("%s frame after a goodbye", k)}
	case l.tag.Kind != 0:
		return ProtocolError{fmt.Errorf("%s frame after a %s frame, before its payload", k, l.tag.Kind)}
	case l.total > 0:
		return ProtocolError{fmt.Errorf("%s frame inside a fragmented payload", k)}
	}
	want := wire.RequestSize
	if k == wire.KindReply {
		want = wire.ReplySize
	}
	b, err := l.br.PeekBody(k, size, want)
	if err != nil {
		return err
	}
	t := Tag{Kind: k}
	if k == wire.KindReply {
		r, err := wire.ParseReply(b)
		if err != nil {
			return ProtocolError{err}
		}
		t.ID, t.Status = r.ID, r.Status
	} else {
		r, err := wire.ParseRequest(b)
		if err != nil {
			return ProtocolError{err}
		}
		t.ID = r.ID
	}
	l.br.Discard(size)
	l.tag = t
	return nil
}

// readCancel reads a Cancel frame of size bytes: the remote gave up on a
// request.
func (l *Link) readCancel(size int) error {
	b, err := l.br.PeekBody(wire.KindCancel, size, wire.RequestSize)
	if err != nil {
		return err
	}
	f, err := wire.ParseCancel(b)
	if err != nil {
		return ProtocolError{err}
	}
	l.br.Discard(size)
	l.h.Cancel(f.ID)
	return nil
}
