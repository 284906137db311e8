package link

import "io"

// Sizes of a connection's read buffer.
const (
	minReadBuffer = 512
	MaxReadBuffer = 32 << 10
)

// ReadBuffer buffers the reads of one connection. It starts small and
// doubles, up to MaxReadBuffer, whenever a read fills the room it had: a
// connection that carries only pings costs a few hundred bytes, and a busy
// one reads many frames per system call. One goroutine uses it at a time:
// the handshake, then the reader.
type ReadBuffer struct {
	src  io.Reader
	buf  []byte
	r, w int  // the unread bytes are buf[r:w]
	full bool // the last read filled all the room there was
}

// NewReadBuffer returns a buffer that reads from src, small until reads fill it.
func NewReadBuffer(src io.Reader) *ReadBuffer {
	return &ReadBuffer{src: src, buf: make([]byte, minReadBuffer)}
}

// Peek returns the next n bytes, at most MaxReadBuffer, without consuming
// them; they stay valid until the next call. With fewer bytes to come it
// returns those and the error that ended them.
func (b *ReadBuffer) Peek(n int) ([]byte, error) {
	for b.w-b.r < n {
		if n > len(b.buf) {
			b.resize(n)
		}
		if err := b.fill(); err != nil {
			return b.buf[b.r:b.w], err
		}
	}
	return b.buf[b.r : b.r+n], nil
}

// Discard consumes n bytes that Peek returned.
func (b *ReadBuffer) Discard(n int) { b.r += n }

// Read implements io.Reader. A read larger than the buffer, into an empty
// buffer, goes straight to the connection.
func (b *ReadBuffer) Read(p []byte) (int, error) {
	if b.r == b.w {
		if len(p) >= len(b.buf) {
			return b.src.Read(p)
		}
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

// After returns a new buffer reading from src that starts with the bytes
// of b past the next skip unread ones: a reader that takes a connection
// over from b's, which keeps b's memory.
func (b *ReadBuffer) After(skip int, src io.Reader) *ReadBuffer {
	rest := b.buf[b.r+skip : b.w]
	nb := NewReadBuffer(src)
	if len(rest) > len(nb.buf) {
		nb.resize(len(rest))
	}
	nb.w = copy(nb.buf, rest)
	return nb
}

// fill reads once into the room after the unread bytes, moving them to the
// front first, and doubling the buffer if the last read filled it.
func (b *ReadBuffer) fill() error {
	if b.full && len(b.buf) < MaxReadBuffer {
		b.resize(2 * len(b.buf))
	}
	if b.r > 0 {
		b.w = copy(b.buf, b.buf[b.r:b.w])
		b.r = 0
	}
	room := len(b.buf) - b.w
	n, err := b.src.Read(b.buf[b.w:])
	b.w += n
	b.full = n == room
	if n > 0 {
		return nil // a connection's error comes again on the next read
	}
	return err
}

// resize gives the buffer room for at least n bytes, at most
// MaxReadBuffer, keeping the unread ones.
func (b *ReadBuffer) resize(n int) {
	size := len(b.buf)
	for size < n {
		size *= 2
	}
	size = min(size, MaxReadBuffer)
	if size == len(b.buf) {
		return
	}
	buf := make([]byte, size)
	b.w = copy(buf, b.buf[b.r:b.w])
	b.r = 0
	b.buf = buf
}
