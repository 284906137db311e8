package mem_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/transport"
	"github.com/peerweave/peerweave/transport/mem"
)

// The tests of connections run in synctest bubbles: synctest.Wait returns
// once every goroutine of the test is blocked, so a test knows that a Read
// or Write waits, and deadlines pass on the bubble's clock, exactly.

// pair returns the two ends of a new connection on a new network.
func pair(t *testing.T) (dialled, accepted net.Conn) {
	t.Helper()
	nw := mem.NewNetwork()
	ln, err := nw.Listen("10.0.0.1:7946")
	require.NoError(t, err)
	defer ln.Close() // the connection outlives it
	dialled, err = nw.Dial(context.Background(), ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { dialled.Close() })
	accepted, err = ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { accepted.Close() })
	return dialled, accepted
}

type result struct {
	n   int
	err error
}

// write writes b to c in a goroutine; the channel yields the outcome.
func write(c net.Conn, b []byte) <-chan result {
	done := make(chan result, 1)
	go func() {
		n, err := c.Write(b)
		done <- result{n, err}
	}()
	return done
}

// read reads once from c into a buffer of size bytes in a goroutine.
func read(c net.Conn, size int) <-chan result {
	done := make(chan result, 1)
	go func() {
		n, err := c.Read(make([]byte, size))
		done <- result{n, err}
	}()
	return done
}

// assertPending checks that nothing came from c yet.
func assertPending(t *testing.T, c <-chan result, what string) {
	t.Helper()
	select {
	case r := <-c:
		assert.Fail(t, what+" returned", "it returned %d, %v", r.n, r.err)
	default:
	}
}

func fill(size int, seed byte) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = seed + byte(i*7+i>>8)
	}
	return b
}

// Two ends that each write a whole buffer's worth at the same moment, as a
// dialler's goodbye and the acceptor's reject can cross, both return
// without either reading, before their deadlines.
func TestCrossingWritesBothSucceed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, a := pair(t)
		fromD, fromA := fill(mem.BufferSize, 1), fill(mem.BufferSize, 2)
		require.NoError(t, d.SetWriteDeadline(time.Now().Add(time.Second)))
		require.NoError(t, a.SetWriteDeadline(time.Now().Add(time.Second)))
		var wg sync.WaitGroup
		var rd, ra result
		wg.Go(func() { rd.n, rd.err = d.Write(fromD) })
		wg.Go(func() { ra.n, ra.err = a.Write(fromA) })
		wg.Wait()
		require.NoError(t, rd.err, "dialled end's write")
		require.NoError(t, ra.err, "accepted end's write")
		assert.Equal(t, len(fromD), rd.n)
		assert.Equal(t, len(fromA), ra.n)

		got := make([]byte, mem.BufferSize)
		_, err := io.ReadFull(a, got)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(fromD, got), "what the dialled end wrote")
		_, err = io.ReadFull(d, got)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(fromA, got), "what the accepted end wrote")
	})
}

// A Write of more than the buffer holds waits for the other end to read,
// and completes as it does, every byte in order.
func TestWriteLargerThanBufferCompletesAsPeerReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, a := pair(t)
		want := fill(4*mem.BufferSize+123, 3)
		wrote := write(d, want)
		synctest.Wait()
		assertPending(t, wrote, "a Write of 4 buffers with nothing read")

		got := make([]byte, len(want))
		for off := 0; off < len(got); {
			n, err := a.Read(got[off:min(off+10000, len(got))])
			require.NoError(t, err)
			off += n
		}
		r := <-wrote
		require.NoError(t, r.err)
		assert.Equal(t, len(want), r.n)
		assert.True(t, bytes.Equal(want, got), "bytes differ")
	})
}

// A Write that waits on a full buffer returns at its deadline with a
// timeout and the count of what it buffered, which the other end reads.
func TestWriteDeadlineOnFullBufferReturnsPartialCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, a := pair(t)
		want := fill(mem.BufferSize+1000, 4)
		start := time.Now()
		require.NoError(t, d.SetWriteDeadline(start.Add(time.Second)))
		n, err := d.Write(want)
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start), "the Write returned before or after its deadline")
		require.Equal(t, mem.BufferSize, n, "bytes buffered before the deadline")

		got := make([]byte, n)
		_, err = io.ReadFull(a, got)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want[:n], got), "bytes differ")
		require.NoError(t, d.Close())
		_, err = a.Read(make([]byte, 1))
		assert.ErrorIs(t, err, io.EOF, "the bytes past the count were buffered")
	})
}

// A deadline set while a Read or Write waits applies to it: moved earlier,
// later, into the past, or cleared.
func TestDeadlineMovedWhileBlocked(t *testing.T) {
	type op struct {
		name        string
		start       func(d, a net.Conn) <-chan result // a call on d that waits
		setDeadline func(c net.Conn, t time.Time) error
		unblock     func(d, a net.Conn) // what makes the call go through
	}
	ops := []op{
		{
			name:        "Read",
			start:       func(d, a net.Conn) <-chan result { return read(d, 1) },
			setDeadline: net.Conn.SetReadDeadline,
			unblock:     func(d, a net.Conn) { a.Write([]byte{1}) },
		},
		{
			name: "Write",
			start: func(d, a net.Conn) <-chan result {
				d.Write(fill(mem.BufferSize, 5))
				return write(d, []byte{1})
			},
			setDeadline: net.Conn.SetWriteDeadline,
			unblock:     func(d, a net.Conn) { a.Read(make([]byte, 1)) },
		},
	}
	for _, o := range ops {
		t.Run(o.name+"/earlier", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d, a := pair(t)
				start := time.Now()
				require.NoError(t, o.setDeadline(d, start.Add(time.Hour)))
				done := o.start(d, a)
				synctest.Wait()
				require.NoError(t, o.setDeadline(d, start.Add(time.Second)))
				r := <-done
				assert.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
				assert.Equal(t, time.Second, time.Since(start))
			})
		})
		t.Run(o.name+"/later", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d, a := pair(t)
				start := time.Now()
				require.NoError(t, o.setDeadline(d, start.Add(time.Second)))
				done := o.start(d, a)
				synctest.Wait()
				require.NoError(t, o.setDeadline(d, start.Add(5*time.Second)))
				r := <-done
				assert.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
				assert.Equal(t, 5*time.Second, time.Since(start))
			})
		})
		t.Run(o.name+"/past", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d, a := pair(t)
				start := time.Now()
				done := o.start(d, a)
				synctest.Wait()
				require.NoError(t, o.setDeadline(d, time.Unix(1, 0)))
				r := <-done
				assert.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
				assert.Zero(t, time.Since(start))
			})
		})
		t.Run(o.name+"/cleared", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d, a := pair(t)
				require.NoError(t, o.setDeadline(d, time.Now().Add(time.Second)))
				done := o.start(d, a)
				synctest.Wait()
				require.NoError(t, o.setDeadline(d, time.Time{}))
				time.Sleep(time.Hour)
				synctest.Wait()
				assertPending(t, done, "the call whose deadline was cleared")
				o.unblock(d, a)
				r := <-done
				assert.NoError(t, r.err)
				assert.Equal(t, 1, r.n)
			})
		})
	}
}

// Close ends the Reads waiting at both ends: at the closing end with
// net.ErrClosed, at the other with io.EOF.
func TestCloseUnblocksReadsAtBothEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, a := pair(t)
		readD, readA := read(d, 1), read(a, 1)
		synctest.Wait()
		assertPending(t, readD, "the Read at the closing end")
		assertPending(t, readA, "the Read at the other end")
		require.NoError(t, d.Close())
		assert.ErrorIs(t, (<-readD).err, net.ErrClosed, "Read at the closing end")
		assert.ErrorIs(t, (<-readA).err, io.EOF, "Read at the other end")
	})
}

// Close ends the Writes waiting at both ends, each with the count of what
// it buffered. What the closing end wrote before Close, the other end reads
// whole before io.EOF; what it had not read is dropped.
func TestCloseUnblocksWritesAtBothEndsAndDeliversData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, a := pair(t)
		goodbye := []byte("goodbye")
		_, err := d.Write(goodbye)
		require.NoError(t, err)
		last := fill(mem.BufferSize, 6)
		writeD := write(d, last)
		writeA := write(a, fill(mem.BufferSize+1, 7))
		synctest.Wait()
		assertPending(t, writeD, "the Write at the closing end")
		assertPending(t, writeA, "the Write at the other end")
		require.NoError(t, d.Close())

		rd := <-writeD
		assert.ErrorIs(t, rd.err, net.ErrClosed, "Write at the closing end")
		assert.Equal(t, mem.BufferSize-len(goodbye), rd.n, "bytes the closing end buffered")
		ra := <-writeA
		assert.ErrorIs(t, ra.err, syscall.EPIPE, "Write at the other end")
		assert.Equal(t, mem.BufferSize, ra.n, "bytes the other end buffered")

		got, err := io.ReadAll(a)
		require.NoError(t, err, "read until io.EOF")
		want := append(goodbye, last[:rd.n]...)
		require.Equal(t, len(want), len(got), "bytes written before Close")
		assert.True(t, bytes.Equal(want, got), "bytes differ")
		_, err = a.Read(make([]byte, 1))
		assert.ErrorIs(t, err, io.EOF, "Read after io.EOF")
		_, err = a.Write([]byte("x"))
		assert.ErrorIs(t, err, syscall.EPIPE, "Write to a closed peer")
	})
}

// A Write and a Read of a small frame, each after setting its deadline as a
// node does, allocate nothing once the buffer has grown.
func TestWriteAndReadDoNotAllocate(t *testing.T) {
	d, a := pair(t)
	frame := fill(1<<10, 8)
	got := make([]byte, len(frame))
	allocs := testing.AllocsPerRun(1000, func() {
		d.SetWriteDeadline(time.Now().Add(time.Minute))
		if _, err := d.Write(frame); err != nil {
			panic(err)
		}
		a.SetReadDeadline(time.Now().Add(time.Minute))
		if _, err := io.ReadFull(a, got); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs, "allocations per Write and Read")
}

// Many Writes at once on one end, each larger than the buffer, take turns
// in a synctest bubble: those waiting for their turn are durably blocked,
// so the bubble does not hang, and each Write's bytes arrive together.
func TestConcurrentWritersTakeTurnsInABubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, a := pair(t)
		const writers, size = 16, mem.BufferSize + 1000
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				n, err := d.Write(bytes.Repeat([]byte{byte(i)}, size))
				assert.NoError(t, err)
				assert.Equal(t, size, n)
			})
		}
		synctest.Wait() // all blocked: one on room, the others on their turn
		got := make([]byte, writers*size)
		_, err := io.ReadFull(a, got)
		require.NoError(t, err)
		wg.Wait()
		seen := make(map[byte]bool)
		for off := 0; off < len(got); off += size {
			w := got[off]
			require.False(t, seen[w], "writer %d's bytes came in two pieces", w)
			seen[w] = true
			require.Equal(t, bytes.Repeat([]byte{w}, size), got[off:off+size], "writer %d's bytes were interleaved", w)
		}
	})
}

// A Write waiting for its turn behind a Write that waits for room returns
// at its own deadline, on the bubble's clock, and at Close.
func TestWriteWaitingForItsTurnHeedsDeadlineAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, _ := pair(t)
		first := write(d, fill(mem.BufferSize+1, 9))
		synctest.Wait()
		start := time.Now()
		require.NoError(t, d.SetWriteDeadline(start.Add(time.Second)))
		r := <-write(d, []byte("second"))
		assert.ErrorIs(t, r.err, os.ErrDeadlineExceeded)
		assert.Zero(t, r.n)
		assert.Equal(t, time.Second, time.Since(start))
		assert.ErrorIs(t, (<-first).err, os.ErrDeadlineExceeded, "the first Write has the same deadline")

		require.NoError(t, d.SetWriteDeadline(time.Time{}))
		first = write(d, fill(1, 9))
		third := write(d, []byte("third"))
		synctest.Wait()
		assertPending(t, third, "a Write behind one that waits for room")
		require.NoError(t, d.Close())
		assert.ErrorIs(t, (<-first).err, net.ErrClosed)
		assert.ErrorIs(t, (<-third).err, net.ErrClosed)
	})
}

// A Read and an Accept that wait are durably blocked too: Close ends them
// in a bubble, and a read deadline fires on the bubble's clock.
func TestAcceptAndReadWaitDurably(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nw := mem.NewNetwork()
		ln, err := nw.Listen("10.0.0.1:7946")
		require.NoError(t, err)
		accepted := make(chan error, 1)
		go func() {
			_, err := ln.Accept()
			accepted <- err
		}()
		synctest.Wait()
		require.NoError(t, ln.Close())
		assert.ErrorIs(t, <-accepted, net.ErrClosed)

		d, _ := pair(t)
		start := time.Now()
		require.NoError(t, d.SetReadDeadline(start.Add(time.Minute)))
		_, err = d.Read(make([]byte, 1))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Equal(t, time.Minute, time.Since(start))
	})
}

// CloseWrite ends what one end sends: the other reads everything written
// before it, then io.EOF, and can still write back, which the half-closed
// end reads. The half-closed end's Writes fail; its deadlines still work.
func TestCloseWriteHalfCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, a := pair(t)
		hc, ok := d.(transport.HalfCloser)
		require.True(t, ok, "a mem connection is a transport.HalfCloser")
		want := fill(mem.BufferSize+500, 10)
		wrote := write(d, want)
		synctest.Wait()
		require.NoError(t, hc.CloseWrite())
		r := <-wrote
		assert.ErrorIs(t, r.err, syscall.EPIPE, "a Write cut short by CloseWrite")
		assert.Equal(t, mem.BufferSize, r.n)
		_, err := d.Write([]byte("x"))
		assert.ErrorIs(t, err, syscall.EPIPE, "a Write after CloseWrite")
		require.NoError(t, d.SetDeadline(time.Now().Add(time.Minute)), "deadlines after CloseWrite")

		got, err := io.ReadAll(a)
		require.NoError(t, err)
		assert.Equal(t, want[:r.n], got)

		_, err = a.Write([]byte("reply"))
		require.NoError(t, err)
		reply := make([]byte, 5)
		_, err = io.ReadFull(d, reply)
		require.NoError(t, err)
		assert.Equal(t, "reply", string(reply))

		require.NoError(t, a.Close())
		_, err = d.Read(reply)
		assert.ErrorIs(t, err, io.EOF)
		require.NoError(t, d.Close())
		assert.ErrorIs(t, hc.CloseWrite(), net.ErrClosed)
	})
}

// Unacked counts what one end wrote and the other has not read: it stands
// still while a Write waits on a reader that reads nothing, and falls as
// the reader reads.
func TestUnackedCountsWhatThePeerHasNotRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, a := pair(t)
		u, ok := d.(transport.Unacked)
		require.True(t, ok, "a mem connection is a transport.Unacked")
		unacked := func() int {
			t.Helper()
			n, err := u.Unacked()
			require.NoError(t, err)
			return n
		}
		assert.Zero(t, unacked())
		_, err := d.Write(fill(1000, 11))
		require.NoError(t, err)
		assert.Equal(t, 1000, unacked())

		wrote := write(d, fill(mem.BufferSize+5000, 12))
		synctest.Wait()
		assert.Equal(t, mem.BufferSize, unacked(), "a full buffer")
		time.Sleep(time.Hour)
		assert.Equal(t, mem.BufferSize, unacked(), "nothing read for an hour")
		assertPending(t, wrote, "the Write on a full buffer")

		_, err = io.ReadFull(a, make([]byte, 3000))
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, mem.BufferSize, unacked(), "the waiting Write filled the room the Read made")
		_, err = io.ReadFull(a, make([]byte, mem.BufferSize-1000))
		require.NoError(t, err)
		require.NoError(t, (<-wrote).err)
		assert.Equal(t, 4000, unacked(), "the rest of the Write")
		_, err = io.ReadFull(a, make([]byte, 4000))
		require.NoError(t, err)
		assert.Zero(t, unacked(), "everything read")
	})
}

// The package's doc shows this test: a Network made in a bubble runs on
// the bubble's clock, so a minute's read deadline passes at once.
func TestVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		network := mem.NewNetwork()
		ln, err := network.Listen("10.0.0.1:7946")
		require.NoError(t, err)
		defer ln.Close()
		c, err := network.Dial(t.Context(), "10.0.0.1:7946")
		require.NoError(t, err)
		defer c.Close()
		start := time.Now()
		require.NoError(t, c.SetReadDeadline(start.Add(time.Minute)))
		_, err = c.Read(make([]byte, 1))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		assert.Equal(t, time.Minute, time.Since(start))
	})
}
