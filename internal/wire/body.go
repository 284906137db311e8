package wire

import "io"

// BodyReader feeds frame bodies to a codec's stream decoder, one frame at a
// time. It returns io.EOF at the end of each body, so a decoder that reads past
// the value in front of it fails instead of eating the next frame. It is an
// io.ByteScanner, so decoders that want one (gob, msgpack) use it directly
// and read no further than they need.
type BodyReader struct {
	b []byte
	i int
}

// Reset makes b the body to read.
func (r *BodyReader) Reset(b []byte) { r.b, r.i = b, 0 }

// Len returns the number of unread bytes of the body.
func (r *BodyReader) Len() int { return len(r.b) - r.i }

// Read implements io.Reader.
func (r *BodyReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}

// ReadByte implements io.ByteReader.
func (r *BodyReader) ReadByte() (byte, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	c := r.b[r.i]
	r.i++
	return c, nil
}

// UnreadByte implements io.ByteScanner.
func (r *BodyReader) UnreadByte() error {
	if r.i == 0 {
		return io.ErrNoProgress
	}
	r.i--
	return nil
}
