package cluster

import (
	crand "crypto/rand"
	"math/rand/v2"

	"github.com/peerweave/peerweave/internal/simhook"
)

// The random choices of a node that change what it does (the remote it
// gossips to, the nonce that settles a dial race) go through these two
// methods, so that the simulator of internal/sim can seed them through
// simhook and rerun a schedule exactly. Without a seed they are math/rand
// and crypto/rand.

func init() {
	simhook.Seeded = func(r simhook.Rand) any {
		return Option(func(c *config) { c.rand = r })
	}
}

// randIntN returns a random int in [0, k).
func (n *Node) randIntN(k int) int {
	if n.cfg.rand != nil {
		return n.cfg.rand.IntN(k)
	}
	return rand.IntN(k)
}

// readRandom fills b with random bytes.
func (n *Node) readRandom(b []byte) {
	if n.cfg.rand != nil {
		n.cfg.rand.Read(b)
		return
	}
	crand.Read(b)
}
