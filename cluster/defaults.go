package cluster

import (
	"context"
	"encoding/gob"
	"io"
	"net"

	"github.com/peerweave/peerweave/internal/wire"
)

// tcpTransport is the transport New uses: plain TCP from the net package. The
// transport/tcp package offers the same wire with options such as TLS.
type tcpTransport struct{}

func (tcpTransport) Listen(laddr string) (net.Listener, error) { return net.Listen("tcp", laddr) }

func (tcpTransport) Dial(ctx context.Context, raddr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", raddr)
}

// gobCodec is the codec New uses: encoding/gob, one stream per connection,
// each frame checked before gob decodes it (see wire.GobDecoder). The
// codec/gob package exports the same codec.
type gobCodec struct{}

func (gobCodec) Name() string                   { return "gob" }
func (gobCodec) NewEncoder(w io.Writer) Encoder { return gob.NewEncoder(w) }
func (gobCodec) NewDecoder(r io.Reader) Decoder { return wire.NewGobDecoder(r) }
