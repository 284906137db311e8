package transporttest

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pingPong: small messages both ways, several rounds.
func pingPong(t *testing.T, newTransport NewTransport) {
	d, a, _ := pair(t, newTransport)
	for range 10 {
		exchange(t, d, a)
	}
}

// largeWrites: a 16 MiB Write from each end at once arrives whole. Neither
// end reads before its own write started, so a transport that needs the
// reader to keep up within one Write would deadlock here.
func largeWrites(t *testing.T, newTransport NewTransport) {
	const size = 16 << 20
	d, a, _ := pair(t, newTransport)
	fromD, fromA := random(size, 1), random(size, 2)
	sentD, sentA := send(d, fromD), send(a, fromA)
	var wg sync.WaitGroup
	wg.Go(func() { expect(t, a, fromD) })
	expect(t, d, fromA)
	wg.Wait()
	require.NoError(t, <-sentD)
	require.NoError(t, <-sentA)
}

// manySmallWrites: thousands of writes of a few bytes arrive in order.
func manySmallWrites(t *testing.T, newTransport NewTransport) {
	const writes = 5000
	d, a, _ := pair(t, newTransport)
	data := random(writes*64, 3)
	sent := make(chan error, 1)
	off := 0
	go func() {
		for i := range writes {
			n := 1 + i%64
			if _, err := d.Write(data[off : off+n]); err != nil {
				sent <- err
				return
			}
			off += n
		}
		sent <- nil
	}()
	want := 0
	for i := range writes {
		want += 1 + i%64
	}
	expect(t, a, data[:want])
	require.NoError(t, <-sent)
}

// concurrentWrites: several goroutines write records at once; every record
// arrives whole, and each goroutine's records arrive in its order.
func concurrentWrites(t *testing.T, newTransport NewTransport) {
	const writers, records = 8, 40
	d, a, _ := pair(t, newTransport)
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			for seq := range records {
				if _, err := d.Write(record(w, seq)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	next := make([]int, writers)
	for range writers * records {
		w, seq, err := readRecord(t, a)
		require.NoError(t, err)
		require.Less(t, w, writers, "record from unknown writer %d: writes were interleaved", w)
		require.Equal(t, next[w], seq, "writer %d's records out of order", w)
		next[w]++
	}
	for range writers {
		require.NoError(t, <-errs)
	}
}

// record is a length-prefixed block whose body says who wrote it: [length
// u32][writer u8][seq u32] then filler derived from both. Sizes vary from a
// few bytes to 32 KiB, so that a transport splitting writes would interleave
// them.
func record(w, seq int) []byte {
	body := 5 + (w*7919+seq*104729)%(32<<10)
	b := make([]byte, 4+body)
	binary.BigEndian.PutUint32(b, uint32(body))
	b[4] = byte(w)
	binary.BigEndian.PutUint32(b[5:], uint32(seq))
	for i := 9; i < len(b); i++ {
		b[i] = byte(w*31 + seq + i)
	}
	return b
}

// readRecord reads one record and checks its body is whole.
func readRecord(t *testing.T, c net.Conn) (w, seq int, err error) {
	t.Helper()
	var size [4]byte
	if _, err := await(t, "Read", func() (int, error) { return io.ReadFull(c, size[:]) }); err != nil {
		return 0, 0, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	require.GreaterOrEqual(t, len(body), 5, "record too short: writes were interleaved")
	require.LessOrEqual(t, len(body), 32<<10+5, "record too long: writes were interleaved")
	if _, err := await(t, "Read", func() (int, error) { return io.ReadFull(c, body) }); err != nil {
		return 0, 0, err
	}
	w, seq = int(body[0]), int(binary.BigEndian.Uint32(body[1:]))
	want := record(w, seq)
	assert.Equal(t, want[4:], body, "record %d of writer %d is not whole: writes were interleaved", seq, w)
	return w, seq, nil
}
