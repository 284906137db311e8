package fault_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/peerweave/peerweave/transport"
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

// A link with a kernel-like send buffer of 256 KiB: a Write returns once
// its bytes fit in the buffer, Unacked tells how many have not arrived
// yet, and a Write that does not fit waits, here until its deadline. (The
// minute's latency keeps every byte on the way while the example runs.)
func ExampleLink_sendBuffer() {
	fn := fault.NewNetwork()
	network := mem.NewNetwork()
	a, b := fn.Wrap(network), fn.Wrap(network)
	lnA, _ := a.Listen("10.0.0.1:7946")
	defer lnA.Close()
	lnB, _ := b.Listen("10.0.0.2:7946")
	defer lnB.Close()
	fn.Shape("10.0.0.1:7946", "10.0.0.2:7946", fault.Link{
		Bandwidth:  512 << 10,
		Latency:    time.Minute,
		SendBuffer: 256 << 10,
	})

	c, _ := a.Dial(context.Background(), "10.0.0.2:7946")
	s, _ := lnB.Accept()
	defer s.Close()
	n, _ := c.Write(make([]byte, 100<<10))
	unacked, _ := c.(transport.Unacked).Unacked()
	fmt.Println("wrote", n, "not arrived", unacked)

	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := c.Write(make([]byte, 200<<10))
	fmt.Println("wrote", n, "then", errors.Is(err, os.ErrDeadlineExceeded))

	fn.Break("10.0.0.1:7946", "10.0.0.2:7946") // drops what the link holds
	// Output:
	// wrote 102400 not arrived 102400
	// wrote 159744 then true
}
