package main

import (
	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec/gob"
	"github.com/peerweave/peerweave/codec/msgpack"
	"github.com/peerweave/peerweave/transport/mem"
	"github.com/peerweave/peerweave/transport/quic"
	"github.com/peerweave/peerweave/transport/tcp"
)

// transport is a -transport choice. network returns, for one measurement, a
// source of transports that reach each other, one per node, as the stacks of
// the cluster package's tests do. fdsPerConn is how many file descriptors a
// connection between two nodes of this process holds, to tell in advance
// whether a mesh fits under the open-file limit.
type transport struct {
	network    func() func() cluster.Transport
	fdsPerConn int
}

// transports are the -transport choices. A new transport is one line here.
var transports = map[string]transport{
	"tcp":  {network: perNode(func() cluster.Transport { return tcp.New() }), fdsPerConn: 2},
	"mem":  {network: func() func() cluster.Transport { nw := mem.NewNetwork(); return func() cluster.Transport { return nw } }},
	"quic": {network: perNode(func() cluster.Transport { return quic.New() }), fdsPerConn: 0},
}

// codecs are the -codec choices. A new codec is one line here.
var codecs = map[string]cluster.Codec{
	"gob":     gob.Codec{},
	"msgpack": msgpack.Codec{},
}

// perNode is a network whose nodes each get a transport from newTransport.
func perNode(newTransport func() cluster.Transport) func() func() cluster.Transport {
	return func() func() cluster.Transport { return newTransport }
}
