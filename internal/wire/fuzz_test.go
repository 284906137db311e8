package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzParseHeader checks ParseHeader against the frame rules of the package
// documentation: a header is accepted exactly when its length is not zero,
// its kind is known, only kinds with a body have one, and the body fits the
// limit; an accepted header round-trips through AppendHeader.
func FuzzParseHeader(f *testing.F) {
	f.Add(uint32(1), uint8(KindPing), 0)
	f.Add(uint32(6), uint8(KindData), 5)
	f.Add(uint32(7), uint8(KindData), 5)
	f.Add(uint32(0), uint8(KindData), 5)
	f.Add(uint32(2), uint8(KindBye), 5)
	f.Add(uint32(0xffffffff), uint8(KindData), 1<<31)
	f.Add(uint32(1), uint8(0), 5)
	f.Add(uint32(1), uint8(KindLast+1), 5)
	f.Add(uint32(40), uint8(KindTags), 64)
	f.Fuzz(func(t *testing.T, length uint32, kind uint8, limit int) {
		limit = min(max(limit, 0), 1<<31)
		h := binary.BigEndian.AppendUint32(nil, length)
		h = append(h, kind)
		k, size, err := ParseHeader(h, limit)

		body := int64(length) - 1
		known := Kind(kind) >= KindData && Kind(kind) <= KindLast
		valid := length > 0 && known && (body == 0 || Kind(kind).HasBody())
		if !valid || body > int64(limit) {
			require.Error(t, err)
			assert.Equal(t, valid, errors.Is(err, ErrFrameTooLarge), "ErrFrameTooLarge only for a frame that is too large")
			return
		}
		require.NoError(t, err)
		assert.Equal(t, Kind(kind), k)
		assert.EqualValues(t, body, size)
		assert.Equal(t, h, AppendHeader(nil, k, size))
		put := make([]byte, HeaderSize)
		PutHeader(put, k, size)
		assert.Equal(t, h, put)
	})
}

// FuzzReadPreamble checks that ReadPreamble accepts exactly what Append
// writes (with any versions and codec), and reads not one byte past it, so
// that the frames behind it are intact.
func FuzzReadPreamble(f *testing.F) {
	f.Add(AppendPreamble(nil, "gob"))
	f.Add(append(AppendPreamble(nil, "msgpack"), 0, 0, 0, 1, byte(KindPing)))
	f.Add(Preamble{Version: 4, MinVersion: 3, Codec: "gob"}.Append(nil))
	f.Add([]byte("pwv\x02\x03gob"))
	f.Add([]byte("pwv\x03\x03gob"))
	f.Add([]byte("pwv\x04\x03gob\x05"))
	f.Add([]byte("pwv\x02\x00"))
	f.Add([]byte("pwv\x01\x41" + string(make([]byte, 65))))
	f.Add([]byte("pwv\x01\x05go"))
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		p, err := ReadPreamble(r)
		if err != nil {
			if !bytes.HasPrefix(data, []byte(magic)) && len(data) >= len(magic)+2 {
				assert.ErrorIs(t, err, ErrBadMagic)
			}
			return
		}
		require.LessOrEqual(t, len(p.Codec), MaxCodecName)
		require.LessOrEqual(t, p.MinVersion, p.Version)
		want := p.Append(nil)
		require.True(t, bytes.HasPrefix(data, want), "accepted %q, which is not a preamble", data)
		assert.Equal(t, len(data)-len(want), r.Len(), "read past the preamble")
	})
}

// FuzzFrameBodies checks each Parse of a fixed-size body against its
// Append: a body is accepted exactly when it has the kind's size (and, for
// a reply, a known status), and an accepted one is what Append writes.
func FuzzFrameBodies(f *testing.F) {
	f.Add([]byte{})
	f.Add(Window{Increment: 1}.Append(nil))
	f.Add(Request{ID: 1}.Append(nil))
	f.Add(Reply{ID: 1, Status: ReplyError}.Append(nil))
	f.Add(Reply{ID: 1, Status: 9}.Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		if w, err := ParseWindow(b); err == nil {
			assert.Equal(t, b, w.Append(nil))
		} else {
			assert.NotEqual(t, WindowSize, len(b))
		}
		if x, err := ParseFirst(b); err == nil {
			assert.Equal(t, b, x.Append(nil))
		} else {
			assert.NotEqual(t, FirstSize, len(b))
		}
		if r, err := ParseRequest(b); err == nil {
			assert.Equal(t, b, r.Append(nil))
		} else {
			assert.NotEqual(t, RequestSize, len(b))
		}
		if c, err := ParseCancel(b); err == nil {
			assert.Equal(t, b, c.Append(nil))
		} else {
			assert.NotEqual(t, RequestSize, len(b))
		}
		if r, err := ParseReply(b); err == nil {
			assert.Equal(t, b, r.Append(nil))
		} else {
			assert.False(t, len(b) == ReplySize && b[RequestSize] <= ReplyNoHandler, "rejected a reply: %v", err)
		}
	})
}
