package link

import (
	"fmt"
	"io"
	"slices"

	"github.com/peerweave/peerweave/internal/wire"
)

// ProtocolError marks input that breaks the protocol, as opposed to a
// connection that broke: the node drops the connection with its reason.
type ProtocolError struct{ Err error }

func (e ProtocolError) Error() string { return e.Err.Error() }
func (e ProtocolError) Unwrap() error { return e.Err }

// EagerRead is how much of a frame body ReadBody allocates, after a
// handshake, before its bytes arrive; past it, the buffer grows as they
// do, so that a peer must send what a header claims before the node holds
// memory for it.
const EagerRead = 64 << 10

// ReadHeader reads the next frame header: its body may be up to max bytes
// (maxTags for a Tags frame), and its kind up to last.
func (b *ReadBuffer) ReadHeader(max, maxTags int, last wire.Kind) (wire.Kind, int, error) {
	h, err := b.Peek(wire.HeaderSize)
	if err != nil {
		if len(h) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, 0, err
	}
	if wire.Kind(h[4]) == wire.KindTags {
		max = maxTags
	}
	k, size, err := wire.ParseHeaderUpTo(h, max, last)
	if err != nil {
		return 0, 0, ProtocolError{err}
	}
	b.Discard(wire.HeaderSize)
	return k, size, nil
}

// ReadBody appends the next n bytes to buf, growing it, past eager bytes,
// as the bytes arrive.
func (b *ReadBuffer) ReadBody(buf []byte, n, eager int) ([]byte, error) {
	end := len(buf) + n
	for len(buf) < end {
		k := min(end-len(buf), max(len(buf), eager))
		buf = slices.Grow(buf, k)
		m, err := io.ReadFull(b, buf[len(buf):len(buf)+k])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, Truncated(err)
		}
	}
	return buf, nil
}

// PeekBody returns the body of a frame of kind k and size bytes, a
// fixed-size body of want bytes, from the buffer; the caller discards it
// once parsed. A body of any other size breaks the protocol before a byte
// of it is read.
func (b *ReadBuffer) PeekBody(k wire.Kind, size, want int) ([]byte, error) {
	if size != want {
		return nil, ProtocolError{fmt.Errorf("%s frame of %d bytes", k, size)}
	}
	p, err := b.Peek(size)
	if err != nil {
		return nil, Truncated(err)
	}
	return p, nil
}

// Truncated turns the end of a stream in the middle of a frame into
// io.ErrUnexpectedEOF.
func Truncated(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
