package bench

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/peerweave/peerweave/internal/wire"
)

// Buffer sizes of the raw loops: the reader's matches the node's read buffer,
// the writer's lets one system call carry many small frames.
const (
	rawReadBuffer  = 32 << 10
	rawWriteBuffer = 64 << 10
)

// rawConn is a loopback TCP connection with a frame reader on the accepted
// end, the floor that a node's connection is compared with. Frames are
// peerweave data frames, byte for byte.
type rawConn struct {
	client, server net.Conn
	w              *frameWriter // client → server
	wg             sync.WaitGroup
	once           sync.Once
}

func dialLoopback() (*rawConn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: listen: %w", err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			c = nil
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		ln.Close()
		<-accepted
		return nil, fmt.Errorf("bench: dial: %w", err)
	}
	server := <-accepted
	if server == nil {
		client.Close()
		return nil, fmt.Errorf("bench: accept failed")
	}
	return &rawConn{client: client, server: server, w: newFrameWriter(client)}, nil
}

// frameWriter writes data frames through a buffer.
type frameWriter struct {
	*bufio.Writer
	hdr []byte
}

func newFrameWriter(c io.Writer) *frameWriter {
	return &frameWriter{Writer: bufio.NewWriterSize(c, rawWriteBuffer), hdr: make([]byte, 0, wire.HeaderSize)}
}

// frame buffers one data frame.
func (w *frameWriter) frame(payload []byte) error {
	w.hdr = wire.AppendHeader(w.hdr[:0], wire.KindData, len(payload))
	w.Write(w.hdr)
	_, err := w.Write(payload)
	return err
}

// frameReader reads data frames into one reused buffer.
type frameReader struct {
	br  *bufio.Reader
	hdr [wire.HeaderSize]byte
	buf []byte
}

func newFrameReader(c io.Reader) *frameReader {
	return &frameReader{br: bufio.NewReaderSize(c, rawReadBuffer)}
}

// next reads the next frame and returns its payload, valid until the next
// call.
func (f *frameReader) next() ([]byte, error) {
	if _, err := io.ReadFull(f.br, f.hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(f.hdr[:])) - 1
	if cap(f.buf) < n {
		f.buf = make([]byte, n)
	}
	b := f.buf[:n]
	_, err := io.ReadFull(f.br, b)
	return b, err
}

func (r *rawConn) close() error {
	r.once.Do(func() {
		r.client.Close()
		r.server.Close()
	})
	r.wg.Wait()
	return nil
}

// rawStream is a Stream over a rawConn.
type rawStream struct {
	*rawConn
	flushEach bool
	c         *counter
	sent      int64
	bytes     int64
}

// RawStream returns a Stream over a plain loopback TCP connection: the
// sender writes length-prefixed frames through a bufio.Writer, the receiver
// reads them through a bufio.Reader into one reused buffer and counts them.
// With flushEach false the writer flushes only when its buffer is full or
// Drain is called, that is when it runs out of work; with flushEach true it
// flushes every frame, one system call per payload.
func RawStream(flushEach bool) (Stream, error) {
	rc, err := dialLoopback()
	if err != nil {
		return nil, err
	}
	s := &rawStream{rawConn: rc, flushEach: flushEach, c: newCounter()}
	fr := newFrameReader(rc.server)
	s.wg.Go(func() {
		for {
			p, err := fr.next()
			if err != nil {
				s.c.stop(err)
				return
			}
			s.c.add(len(p))
		}
	})
	return s, nil
}

func (s *rawStream) Send(payload []byte) error {
	if err := s.w.frame(payload); err != nil {
		return err
	}
	s.sent++
	s.bytes += int64(len(payload))
	if s.flushEach {
		return s.w.Flush()
	}
	return nil
}

func (s *rawStream) Drain() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	return s.c.await(s.sent, s.bytes)
}

func (s *rawStream) Close() error { return s.close() }

// rawEcho is an Echo over a rawConn.
type rawEcho struct {
	*rawConn
	fr *frameReader // client side
}

// RawEcho returns an Echo over a plain loopback TCP connection: a raw ping
// pong, each frame written and flushed at once, the far end writing back
// every frame it reads.
func RawEcho() (Echo, error) {
	rc, err := dialLoopback()
	if err != nil {
		return nil, err
	}
	e := &rawEcho{rawConn: rc, fr: newFrameReader(rc.client)}
	e.wg.Go(func() {
		fr, fw := newFrameReader(rc.server), newFrameWriter(rc.server)
		for {
			p, err := fr.next()
			if err != nil {
				return
			}
			fw.frame(p)
			if fw.Flush() != nil {
				return
			}
		}
	})
	return e, nil
}

func (e *rawEcho) RoundTrip(payload []byte) error {
	e.w.frame(payload)
	if err := e.w.Flush(); err != nil {
		return err
	}
	p, err := e.fr.next()
	if err != nil {
		return err
	}
	if len(p) != len(payload) {
		return fmt.Errorf("bench: %d bytes came back, %d were sent", len(p), len(payload))
	}
	return nil
}

func (e *rawEcho) Close() error { return e.close() }
