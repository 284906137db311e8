package cluster

import "github.com/peerweave/peerweave/transport"

// Transport opens the byte streams that connect nodes. It is defined in
// package transport, so that transports need not import this package; see
// there for the contract an implementation must meet. New uses transport/tcp.
type Transport = transport.Transport
