package codec

// Values is implemented by a codec that also encodes an application's own
// values, so that nodes can exchange typed messages, requests and replies
// in the codec the cluster chose (see the typed functions of package
// cluster). Unlike a connection's Encoder and Decoder, each encoding is
// self-contained: it decodes on its own, whatever was encoded before it.
//
// Marshal returns the encoding of v, or an error if the codec cannot encode
// it (a func or a channel, say). Unmarshal decodes b, exactly one encoding,
// into v, a pointer to a zero value; b comes from the network, so Unmarshal
// must fail, never panic or hang, on anything else, including an encoding of
// a value that does not fit v, and allocate in proportion to len(b). The
// value must not alias b. Both are safe for concurrent use.
type Values interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(b []byte, v any) error
}
