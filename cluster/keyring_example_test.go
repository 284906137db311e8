package cluster_test

import (
	"errors"
	"fmt"
	"log"
	"log/slog"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/mem"
)

// A running cluster moves from one secret to another in three rounds of
// SetSecrets, each on every node in turn: accept the new secret, prove with
// it, retire the old one. Nobody is refused or removed on the way, and then
// a node that knows only the old secret is refused.
func ExampleNode_SetSecrets() {
	network := mem.NewNetwork()
	old, next := []byte("the old secret, 32 bytes or more."), []byte("the new secret, 32 bytes or more.")
	node := func(addr string, opt cluster.Option) *cluster.Node {
		n, err := cluster.NewNode(addr, cluster.WithTransport(network), opt,
			cluster.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			log.Fatal(err)
		}
		return n
	}
	a, b := node("10.0.0.1:7946", cluster.WithSecret(old)), node("10.0.0.2:7946", cluster.WithSecret(old))
	defer a.Close()
	defer b.Close()
	if err := b.Add(a.String()); err != nil {
		log.Fatal(err)
	}

	for _, keyring := range [][][]byte{{old, next}, {next, old}, {next}} {
		for _, n := range []*cluster.Node{a, b} {
			if err := n.SetSecrets(keyring[0], keyring[1:]...); err != nil {
				log.Fatal(err)
			}
		}
	}
	c := node("10.0.0.3:7946", cluster.WithSecret(next))
	defer c.Close()
	fmt.Println("with the new secret:", c.Add(a.String()))
	d := node("10.0.0.4:7946", cluster.WithSecret(old))
	defer d.Close()
	fmt.Println("with the old secret refused:", errors.Is(d.Add(a.String()), cluster.ErrAuth))
	fmt.Println("a knows", a.Remotes())
	// Output:
	// with the new secret: <nil>
	// with the old secret refused: true
	// a knows [10.0.0.2:7946 10.0.0.3:7946]
}
