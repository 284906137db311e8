package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/peerweave/peerweave/codec"
)

// values returns the node's codec as a codec.Values.
func (n *Node) values() (codec.Values, error) {
	v, ok := n.cfg.codec.(codec.Values)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoValues, n.cfg.codec.Name())
	}
	return v, nil
}

// Marshal encodes v with the node's codec, as the typed functions send it:
// gob by default, msgpack with codec/msgpack. It fails with ErrEncode for a
// value the codec cannot encode, and ErrNoValues for a codec that encodes
// no values.
func Marshal(n *Node, v any) ([]byte, error) {
	c, err := n.values()
	if err != nil {
		return nil, err
	}
	b, err := c.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w %T: %w", ErrEncode, v, err)
	}
	return b, nil
}

// Decode decodes a payload that the typed functions sent, such as the
// Payload of a Message from Inbox, of a request or of a query's Answer, into
// a T. It fails with ErrDecode when the payload is not the encoding of a
// value that fits a T.
func Decode[T any](n *Node, payload []byte) (T, error) {
	var v T
	c, err := n.values()
	if err != nil {
		return v, err
	}
	if err := c.Unmarshal(payload, &v); err != nil {
		return v, fmt.Errorf("%w as %T: %w", ErrDecode, v, err)
	}
	return v, nil
}

// SendValue sends v, encoded with the node's codec, to the remote as Send
// does; the remote reads it from its Inbox with Decode.
func SendValue(n *Node, to Remote, v any) error {
	b, err := Marshal(n, v)
	if err != nil {
		return err
	}
	return n.Send(to, b)
}

// RequestValue sends req, encoded with the node's codec, as a request to
// the remote, and decodes the reply into a Resp. It fails as Request does,
// and with ErrEncode or ErrDecode.
func RequestValue[Resp any](ctx context.Context, n *Node, to Remote, req any) (Resp, error) {
	var zero Resp
	b, err := Marshal(n, req)
	if err != nil {
		return zero, err
	}
	if b, err = n.Request(ctx, to, b); err != nil {
		return zero, err
	}
	return Decode[Resp](n, b)
}

// HandleValue turns a handler of typed requests into a RequestHandler: it
// decodes each request into a Req with the node's codec, calls h, and
// encodes the Resp it returns as the reply. A request that does not decode,
// or a reply that does not encode, is answered with the error, which the
// caller gets as a *RemoteError.
func HandleValue[Req, Resp any](h func(ctx context.Context, from Remote, req Req) (Resp, error)) RequestHandler {
	return func(ctx context.Context, m *Message) ([]byte, error) {
		n, ok := ctx.Value(nodeKey{}).(*Node)
		if !ok {
			return nil, errors.New("cluster: a HandleValue handler called with a context that is not a node's")
		}
		req, err := Decode[Req](n, m.Payload)
		if err != nil {
			return nil, err
		}
		resp, err := h(ctx, m.From, req)
		if err != nil {
			return nil, err
		}
		return Marshal(n, resp)
	}
}
