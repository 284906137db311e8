package bench

import "github.com/peerweave/peerweave/cluster"

// NodeHandlerStream returns a Stream between two nodes on the given
// transport and codec whose receiver takes messages through a message
// handler (cluster.WithMessageHandler) that counts them, instead of Inbox.
func NodeHandlerStream(transport func() cluster.Transport, codec cluster.Codec) (Stream, error) {
	c := newCounter()
	p, err := newNodePair(transport, codec, nil, cluster.WithMessageHandler(func(_ cluster.Remote, payload []byte) {
		c.add(len(payload))
	}))
	if err != nil {
		return nil, err
	}
	return &handlerStream{nodeStream{nodePair: p, c: c}}, nil
}

// handlerStream is a nodeStream whose receiver has no Inbox reader.
type handlerStream struct{ nodeStream }

func (s *handlerStream) Close() error {
	err := s.close()
	s.c.stop(cluster.ErrClosed)
	return err
}
