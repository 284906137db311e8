package main

import (
	"testing"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/transport/transporttest"
)

func TestUnixConformance(t *testing.T) {
	dir := t.TempDir()
	transporttest.Run(t, func(*testing.T) cluster.Transport { return Unix{Dir: dir} })
}
