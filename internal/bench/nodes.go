package bench

import (
	"fmt"
	"sync"

	"github.com/peerweave/peerweave/cluster"
)

// nodePair is two nodes, a and b, connected to each other.
type nodePair struct {
	a, b *cluster.Node
	toB  cluster.Remote
	wg   sync.WaitGroup // the far end's goroutine
	once sync.Once
}

// newNodePair starts two nodes, each with a transport from transport and
// both, b with bOnly too, and connects them. The nodes log warnings to
// stderr, where they belong in a benchmark's output.
func newNodePair(transport func() cluster.Transport, codec cluster.Codec, both []cluster.Option, bOnly ...cluster.Option) (*nodePair, error) {
	start := func(opts ...cluster.Option) (*cluster.Node, error) {
		opts = append(append([]cluster.Option{cluster.WithTransport(transport()), cluster.WithCodec(codec)}, both...), opts...)
		return cluster.NewNode("127.0.0.1:0", opts...)
	}
	a, err := start()
	if err != nil {
		return nil, err
	}
	b, err := start(bOnly...)
	if err != nil {
		a.Close()
		return nil, err
	}
	p := &nodePair{a: a, b: b, toB: cluster.Remote(*b.Addr())}
	if err := a.Add(b.String()); err != nil {
		p.close()
		return nil, fmt.Errorf("bench: connect the nodes: %w", err)
	}
	return p, nil
}

func (p *nodePair) close() error {
	p.once.Do(func() {
		p.a.Close()
		p.b.Close()
	})
	p.wg.Wait()
	return nil
}

// nodeStream is a Stream from node a to node b.
type nodeStream struct {
	*nodePair
	c     *counter
	sent  int64
	bytes int64
}

// NodeStream returns a Stream between two nodes on the given transport and
// codec: Send is the sender's Send, and the receiver's Inbox is read and
// counted. transport is called once per node; transports it returns must
// reach each other. Both nodes get opts.
func NodeStream(transport func() cluster.Transport, codec cluster.Codec, opts ...cluster.Option) (Stream, error) {
	p, err := newNodePair(transport, codec, opts)
	if err != nil {
		return nil, err
	}
	s := &nodeStream{nodePair: p, c: newCounter()}
	p.wg.Go(func() {
		for m := range p.b.Inbox {
			s.c.add(len(m.Payload))
		}
		s.c.stop(cluster.ErrClosed)
	})
	return s, nil
}

func (s *nodeStream) Send(payload []byte) error {
	if err := s.a.Send(s.toB, payload); err != nil {
		return err
	}
	s.sent++
	s.bytes += int64(len(payload))
	return nil
}

func (s *nodeStream) Drain() error { return s.c.await(s.sent, s.bytes) }

func (s *nodeStream) Close() error { return s.close() }

// nodeEcho is an Echo from node a to node b and back.
type nodeEcho struct{ *nodePair }

// NodeEcho returns an Echo between two nodes on the given transport and
// codec, with opts: the requester Sends, the far end reads its Inbox and
// Sends each payload back, and the requester reads it from its Inbox.
func NodeEcho(transport func() cluster.Transport, codec cluster.Codec, opts ...cluster.Option) (Echo, error) {
	p, err := newNodePair(transport, codec, opts)
	if err != nil {
		return nil, err
	}
	p.wg.Go(func() {
		for m := range p.b.Inbox {
			p.b.Send(m.From, m.Payload)
		}
	})
	return &nodeEcho{p}, nil
}

func (e *nodeEcho) RoundTrip(payload []byte) error {
	if err := e.a.Send(e.toB, payload); err != nil {
		return err
	}
	m, ok := <-e.a.Inbox
	if !ok {
		return cluster.ErrClosed
	}
	if len(m.Payload) != len(payload) {
		return fmt.Errorf("bench: %d bytes came back, %d were sent", len(m.Payload), len(payload))
	}
	return nil
}

func (e *nodeEcho) Close() error { return e.close() }
