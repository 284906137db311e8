package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"

	quicgo "github.com/quic-go/quic-go"

	"github.com/peerweave/peerweave/internal/selfsigned"
)

// rawQUICProtocol is the ALPN name the raw QUIC loop negotiates.
const rawQUICProtocol = "peerweave-bench-raw"

// rawQUICStream is a Stream over one quic-go stream, the floor that a node's
// connection over transport/quic is compared with.
type rawQUICStream struct {
	client, server *quicgo.Transport
	ln             *quicgo.Listener
	conn           *quicgo.Conn
	w              *frameWriter
	c              *counter
	sent, bytes    int64
	wg             sync.WaitGroup
	once           sync.Once
}

// RawQUICStream returns a Stream over one stream of one quic-go connection
// on the loopback interface, with the framing and buffering of RawStream(false):
// the sender writes length-prefixed frames through a bufio.Writer that
// flushes only when it is full or Drain is called, the receiver reads them
// through a bufio.Reader into one reused buffer and counts them. Each end
// gives quic-go a bare *net.UDPConn, as transport/quic does, and both use
// quic-go's default configuration, so the loop is what quic-go itself does
// with the machine's UDP buffers.
func RawQUICStream() (Stream, error) {
	server, client, err := rawQUICTLS()
	if err != nil {
		return nil, err
	}
	s := &rawQUICStream{c: newCounter()}
	if s.server, err = quicTransport(); err != nil {
		return nil, err
	}
	if s.client, err = quicTransport(); err != nil {
		s.server.Close()
		s.server.Conn.Close()
		return nil, err
	}
	if err := s.connect(server, client); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// quicTransport returns a quic-go transport on a new loopback UDP socket.
func quicTransport() (*quicgo.Transport, error) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("bench: listen: %w", err)
	}
	return &quicgo.Transport{Conn: udp}, nil
}

// connect dials the server, opens the stream and starts the receiver.
func (s *rawQUICStream) connect(server, client *tls.Config) error {
	ln, err := s.server.Listen(server, nil)
	if err != nil {
		return fmt.Errorf("bench: listen: %w", err)
	}
	s.ln = ln
	ctx, cancel := context.WithTimeout(context.Background(), StallTimeout)
	defer cancel()
	if s.conn, err = s.client.Dial(ctx, ln.Addr(), client, nil); err != nil {
		return fmt.Errorf("bench: dial: %w", err)
	}
	st, err := s.conn.OpenStream()
	if err != nil {
		return fmt.Errorf("bench: open stream: %w", err)
	}
	s.w = newFrameWriter(st)
	s.wg.Go(s.receive)
	return nil
}

// receive accepts the connection and its stream, which reaches the server
// with its first frame, and counts the frames on it.
func (s *rawQUICStream) receive() {
	ctx := context.Background() // Close ends the waits by closing the transports
	qc, err := s.ln.Accept(ctx)
	if err != nil {
		s.c.stop(err)
		return
	}
	st, err := qc.AcceptStream(ctx)
	if err != nil {
		s.c.stop(err)
		return
	}
	fr := newFrameReader(st)
	for {
		p, err := fr.next()
		if err != nil {
			s.c.stop(err)
			return
		}
		s.c.add(len(p))
	}
}

func (s *rawQUICStream) Send(payload []byte) error {
	if err := s.w.frame(payload); err != nil {
		return err
	}
	s.sent++
	s.bytes += int64(len(payload))
	return nil
}

func (s *rawQUICStream) Drain() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	return s.c.await(s.sent, s.bytes)
}

// Close closes both quic-go transports, which closes their connections and
// stops their goroutines, then their sockets, which they do not own.
func (s *rawQUICStream) Close() error {
	s.once.Do(func() {
		if s.conn != nil {
			s.conn.CloseWithError(0, "")
		}
		for _, t := range []*quicgo.Transport{s.client, s.server} {
			t.Close()
			t.Conn.Close()
		}
	})
	s.wg.Wait()
	return nil
}

// rawQUICTLS returns a server and a client configuration with a new
// self-signed certificate that the client does not verify, as
// transport/quic's defaults do.
func rawQUICTLS() (server, client *tls.Config, err error) {
	cert, err := selfsigned.Certificate()
	if err != nil {
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	server = &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{rawQUICProtocol},
		MinVersion:   tls.VersionTLS13,
	}
	client = &tls.Config{
		InsecureSkipVerify: true, // a benchmark on the loopback interface
		NextProtos:         []string{rawQUICProtocol},
		MinVersion:         tls.VersionTLS13,
	}
	return server, client, nil
}
