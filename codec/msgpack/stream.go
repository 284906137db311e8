package msgpack

import (
	"bytes"
	"io"

	"github.com/vmihailenco/msgpack/v5"
)

// maxRetained is the largest buffer an encoder or decoder keeps between
// messages. Control messages are mostly small; a buffer grown by a long peer
// list is dropped rather than held for the life of the connection.
const maxRetained = 64 << 10

// encoder builds each message in a buffer and writes it in one call:
// msgpack writes a byte at a time, and to a writer without WriteByte (such
// as a node's) each byte would be a Write of its own.
type encoder struct {
	w   io.Writer
	buf bytes.Buffer
	enc *msgpack.Encoder
}

func newEncoder(w io.Writer) *encoder {
	e := &encoder{w: w}
	e.enc = msgpack.NewEncoder(&e.buf)
	// Zero fields are left out, so that nodes that do not know a field
	// never see it while it is unused.
	e.enc.SetOmitEmpty(true)
	// Integers take the fewest bytes that hold them; decoders read any
	// width.
	e.enc.UseCompactInts(true)
	return e
}

// Encode writes v, a pointer to a message, to the encoder's writer.
func (e *encoder) Encode(v any) error {
	defer e.release()
	if err := e.enc.Encode(v); err != nil {
		return err
	}
	_, err := e.w.Write(e.buf.Bytes())
	return err
}

func (e *encoder) release() {
	if e.buf.Cap() > maxRetained {
		e.buf = bytes.Buffer{}
	} else {
		e.buf.Reset()
	}
}

// decoder reads each frame whole, checks it, and only then decodes it.
type decoder struct {
	r     io.Reader
	frame bytes.Buffer
	src   bytes.Reader
	dec   *msgpack.Decoder
}

func newDecoder(r io.Reader) *decoder {
	d := &decoder{r: r}
	d.renew()
	return d
}

// renew gives the decoder new buffers.
func (d *decoder) renew() {
	d.frame = bytes.Buffer{}
	d.dec = msgpack.NewDecoder(&d.src)
	// A message that sets a field this node does not know, or a message
	// of another type, is refused rather than half understood.
	d.dec.DisallowUnknownFields(true)
}

// Decode reads the rest of the frame and decodes it into v, a pointer to a
// message.
func (d *decoder) Decode(v any) error {
	defer d.release()
	if _, err := d.frame.ReadFrom(d.r); err != nil {
		return err
	}
	if err := check(d.frame.Bytes()); err != nil {
		return err
	}
	d.src.Reset(d.frame.Bytes())
	return d.dec.Decode(v)
}

// release empties the frame buffer, or drops it, and with it the msgpack
// decoder, whose own buffer the frame's strings may have grown as much.
func (d *decoder) release() {
	d.src.Reset(nil)
	if d.frame.Cap() > maxRetained {
		d.renew()
	} else {
		d.frame.Reset()
	}
}
