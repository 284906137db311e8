package bench

import (
	"context"
	"fmt"

	"github.com/peerweave/peerweave/cluster"
)

// nodeRequests is an Echo whose round trip is one Request.
type nodeRequests struct{ *nodePair }

// NodeRequests returns an Echo between two nodes on the given transport and
// codec whose round trip is a Request from one to the other, whose handler
// answers with the request's payload.
func NodeRequests(transport func() cluster.Transport, codec cluster.Codec) (Echo, error) {
	p, err := newNodePair(transport, codec, nil)
	if err != nil {
		return nil, err
	}
	p.b.SetRequestHandler(func(_ context.Context, req *cluster.Message) ([]byte, error) { return req.Payload, nil })
	return &nodeRequests{p}, nil
}

func (e *nodeRequests) RoundTrip(payload []byte) error {
	got, err := e.a.Request(context.Background(), e.toB, payload)
	if err != nil {
		return err
	}
	if len(got) != len(payload) {
		return fmt.Errorf("bench: %d bytes came back, %d were sent", len(got), len(payload))
	}
	return nil
}

func (e *nodeRequests) Close() error { return e.close() }

// Value is the typed value that a value stream sends: a few fields of the
// kinds applications send, and the payload.
type Value struct {
	Seq  int64
	Kind string
	Tags []string
	Body []byte
}

// nodeValues is a Stream of typed values.
type nodeValues struct {
	*nodePair
	c     *counter
	sent  int64
	bytes int64
}

// NodeValues returns a Stream between two nodes on the given transport and
// codec that sends each payload as the Body of a Value with SendValue, in
// the codec's encoding; the receiver decodes every message into a Value
// and counts its Body.
func NodeValues(transport func() cluster.Transport, codec cluster.Codec) (Stream, error) {
	p, err := newNodePair(transport, codec, nil)
	if err != nil {
		return nil, err
	}
	s := &nodeValues{nodePair: p, c: newCounter()}
	p.wg.Go(func() {
		for m := range p.b.Inbox {
			v, err := cluster.Decode[Value](p.b, m.Payload)
			if err != nil {
				s.c.stop(err)
				for range p.b.Inbox {
				}
				return
			}
			s.c.add(len(v.Body))
		}
		s.c.stop(cluster.ErrClosed)
	})
	return s, nil
}

func (s *nodeValues) Send(payload []byte) error {
	v := Value{Seq: s.sent, Kind: "sample", Tags: []string{"bench", "value"}, Body: payload}
	if err := cluster.SendValue(s.a, s.toB, v); err != nil {
		return err
	}
	s.sent++
	s.bytes += int64(len(payload))
	return nil
}

func (s *nodeValues) Drain() error { return s.c.await(s.sent, s.bytes) }

func (s *nodeValues) Close() error { return s.close() }
