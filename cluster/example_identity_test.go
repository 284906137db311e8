package cluster_test

import (
	"errors"
	"fmt"
	"log"
	"log/slog"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/mem"
)

// Tags say what a node is for. b reads a's tags when it meets a, and hears
// of every change.
func ExampleNode_SetTags() {
	network := mem.NewNetwork()
	a, err := cluster.NewNode("10.0.0.1:7946", cluster.WithTransport(network),
		cluster.WithTags(map[string]string{"role": "db"}))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	changed := make(chan map[string]string)
	b, err := cluster.NewNode("10.0.0.2:7946", cluster.WithTransport(network),
		cluster.WithRemoteTagsChanged(func(r cluster.Remote, tags map[string]string) { changed <- tags }))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	if err := b.Add(a.String()); err != nil {
		log.Fatal(err)
	}
	info, _ := b.Info(a.Self())
	fmt.Println("a is", info.Tags["role"])

	if err := a.SetTags(map[string]string{"role": "cache", "zone": "eu"}); err != nil {
		log.Fatal(err)
	}
	tags := <-changed
	fmt.Println("a is now", tags["role"], "in", tags["zone"])
	// Output:
	// a is db
	// a is now cache in eu
}

// A name identifies a node across restarts at other addresses; two live
// nodes cannot share one.
func ExampleWithName() {
	network := mem.NewNetwork()
	quiet := cluster.WithLogger(slog.New(slog.DiscardHandler))
	a, err := cluster.NewNode("10.0.0.1:7946", cluster.WithTransport(network), quiet, cluster.WithName("web-0"))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := cluster.NewNode("10.0.0.2:7946", cluster.WithTransport(network), quiet, cluster.WithName("web-1"))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if err := b.Add(a.String()); err != nil {
		log.Fatal(err)
	}
	info, _ := a.Info(b.Self())
	fmt.Println(info.Remote, "is", info.Name)

	twin, err := cluster.NewNode("10.0.0.3:7946", cluster.WithTransport(network), quiet, cluster.WithName("web-1"))
	if err != nil {
		log.Fatal(err)
	}
	defer twin.Close()
	err = twin.Add(a.String())
	fmt.Println("a second web-1:", errors.Is(err, cluster.ErrNameConflict))
	// Output:
	// 10.0.0.2:7946 is web-1
	// a second web-1: true
}

// A label keeps clusters apart: a node of staging cannot join prod by
// mistake.
func ExampleWithLabel() {
	network := mem.NewNetwork()
	quiet := cluster.WithLogger(slog.New(slog.DiscardHandler))
	prod, err := cluster.NewNode("10.0.0.1:7946", cluster.WithTransport(network), quiet, cluster.WithLabel("prod"))
	if err != nil {
		log.Fatal(err)
	}
	defer prod.Close()
	staging, err := cluster.NewNode("10.0.1.1:7946", cluster.WithTransport(network), quiet, cluster.WithLabel("staging"))
	if err != nil {
		log.Fatal(err)
	}
	defer staging.Close()

	err = staging.Add(prod.String())
	fmt.Println(errors.Is(err, cluster.ErrLabelMismatch), len(prod.Remotes()), len(staging.Remotes()))
	// Output:
	// true 0 0
}
