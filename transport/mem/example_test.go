package mem_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/peerweave/peerweave/transport"
	"github.com/peerweave/peerweave/transport/mem"
)

// Two ends of a connection on an in-memory network: one says goodbye and
// half-closes, the other reads to the end of the stream and can still
// answer. Inside a testing/synctest bubble the same calls run on the
// bubble's clock (see TestVirtualTime).
func Example() {
	network := mem.NewNetwork()
	ln, _ := network.Listen("10.0.0.1:7946")
	defer ln.Close()
	c, _ := network.Dial(context.Background(), "10.0.0.1:7946")
	defer c.Close()
	s, _ := ln.Accept()
	defer s.Close()

	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write([]byte("goodbye"))
	unacked, _ := c.(transport.Unacked).Unacked()
	fmt.Println("not yet read:", unacked)
	c.(transport.HalfCloser).CloseWrite()

	got, err := io.ReadAll(s)
	fmt.Printf("%q %v\n", got, err)
	s.Write([]byte("bye"))
	reply := make([]byte, 3)
	io.ReadFull(c, reply)
	fmt.Printf("%q\n", reply)
	// Output:
	// not yet read: 7
	// "goodbye" <nil>
	// "bye"
}
