package wire

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
)

// GobDecoder decodes a gob stream one frame at a time, for the gob codec
// that cluster.New uses and codec/gob exports. It reads each frame whole and
// checks that the gob messages in it add up to its size before encoding/gob
// sees it: gob sets aside the length a message claims, up to 10 MiB, before
// it reads the message, so a 4 KiB hello could otherwise cost 10 MiB.
type GobDecoder struct {
	r    io.Reader // the node's frame reader: io.EOF ends each frame
	buf  []byte
	body BodyReader
	dec  *gob.Decoder
}

// NewGobDecoder returns a decoder for the frames r returns.
func NewGobDecoder(r io.Reader) *GobDecoder {
	d := &GobDecoder{r: r}
	d.dec = gob.NewDecoder(&d.body)
	return d
}

// errGobLength reports a gob message longer than the rest of its frame.
var errGobLength = errors.New("gob: message length exceeds the frame")

// Decode reads the next frame and decodes it into v.
func (d *GobDecoder) Decode(v any) error {
	b, err := readAll(d.r, d.buf[:0])
	d.buf = b
	if err != nil {
		return err
	}
	if err := checkGob(b); err != nil {
		return err
	}
	d.body.Reset(b)
	if err := d.dec.Decode(v); err != nil {
		return err
	}
	if d.body.Len() != 0 {
		return fmt.Errorf("gob: %d bytes after the value", d.body.Len())
	}
	return nil
}

// readAll reads r until io.EOF into buf.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// checkGob checks that b is a run of whole gob messages: each an unsigned
// count, then that many bytes.
func checkGob(b []byte) error {
	for len(b) > 0 {
		n, w := gobUint(b)
		if w == 0 || n > uint64(len(b)-w) {
			return errGobLength
		}
		b = b[w+int(n):]
	}
	return nil
}

// gobUint decodes a gob unsigned integer from the front of b: a byte below
// 128 is the value; otherwise the byte is minus the count of big-endian
// bytes that follow. It returns the value and the bytes read, 0 if b does
// not start with one.
func gobUint(b []byte) (uint64, int) {
	if b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	n := -int(int8(b[0]))
	if n > 8 || len(b) < 1+n {
		return 0, 0
	}
	var v uint64
	for _, c := range b[1 : 1+n] {
		v = v<<8 | uint64(c)
	}
	return v, 1 + n
}
