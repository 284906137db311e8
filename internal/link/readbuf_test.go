package link

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadBufferStaysSmallForSmallReads(t *testing.T) {
	// A connection that carries 5-byte pings, one per read.
	var pings bytes.Buffer
	for range 1000 {
		pings.WriteString("ping!")
	}
	b := NewReadBuffer(iotest.OneByteReader(&pings))
	for range 1000 {
		p, err := b.Peek(5)
		require.NoError(t, err)
		assert.Equal(t, "ping!", string(p))
		b.Discard(5)
	}
	assert.Equal(t, minReadBuffer, len(b.buf))
}

func TestReadBufferGrowsWhileReadsFillIt(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<14) // 256 KiB
	b := NewReadBuffer(bytes.NewReader(data))
	var got []byte
	for len(got) < len(data) {
		p, err := b.Peek(min(100, len(data)-len(got)))
		require.NoError(t, err)
		got = append(got, p...)
		b.Discard(len(p))
	}
	assert.Equal(t, data, got)
	assert.Equal(t, MaxReadBuffer, len(b.buf))
	_, err := b.Peek(1)
	assert.Equal(t, io.EOF, err)
}

func TestReadBufferPeeksUpToTheMaximum(t *testing.T) {
	data := bytes.Repeat([]byte("x"), MaxReadBuffer)
	b := NewReadBuffer(iotest.HalfReader(bytes.NewReader(data)))
	p, err := b.Peek(MaxReadBuffer)
	require.NoError(t, err)
	assert.Equal(t, data, p)
}

func TestReadBufferReadsLargeBodiesStraightThrough(t *testing.T) {
	data := bytes.Repeat([]byte("y"), 3*MaxReadBuffer)
	src := &countingReader{r: bytes.NewReader(data)}
	b := NewReadBuffer(src)
	h, err := b.Peek(3)
	require.NoError(t, err)
	assert.Equal(t, "yyy", string(h))
	out := make([]byte, len(data))
	_, err = io.ReadFull(b, out)
	require.NoError(t, err)
	assert.Equal(t, data, out)
	assert.Equal(t, minReadBuffer, len(b.buf), "reads into the caller's slice need no larger buffer")
	assert.LessOrEqual(t, src.reads, 3)
}

func TestReadBufferReportsTheErrorThatEndsTheBytes(t *testing.T) {
	boom := errors.New("boom")
	b := NewReadBuffer(io.MultiReader(bytes.NewReader([]byte("ab")), iotest.ErrReader(boom)))
	p, err := b.Peek(3)
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, "ab", string(p))
	_, err = b.Read(make([]byte, 1))
	require.NoError(t, err, "buffered bytes come first")
	b.Discard(1)
	_, err = b.Read(make([]byte, 1))
	assert.ErrorIs(t, err, boom)
}

type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}
