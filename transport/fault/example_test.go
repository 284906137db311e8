package fault_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/peerweave/peerweave/transport/fault"
	"github.com/peerweave/peerweave/transport/mem"
)

// A link of 1 MiB/s with a latency of 20 ms, from a to b.
func ExampleNetwork_Shape() {
	fn := fault.NewNetwork()
	network := mem.NewNetwork()
	a, b := fn.Wrap(network), fn.Wrap(network)
	lnA, _ := a.Listen("10.0.0.1:7946")
	defer lnA.Close()
	lnB, _ := b.Listen("10.0.0.2:7946")
	defer lnB.Close()
	fn.Shape("10.0.0.1:7946", "10.0.0.2:7946", fault.Link{Bandwidth: 1 << 20, Latency: 20 * time.Millisecond})

	c, _ := a.Dial(context.Background(), "10.0.0.2:7946")
	defer c.Close()
	s, _ := lnB.Accept()
	defer s.Close()
	start := time.Now()
	go c.Write([]byte("hello"))
	msg := make([]byte, 5)
	io.ReadFull(s, msg)
	fmt.Println(string(msg), time.Since(start) >= 20*time.Millisecond)
	// Output: hello true
}
