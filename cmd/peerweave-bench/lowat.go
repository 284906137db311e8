package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/peerweave/peerweave/internal/bench"
	"github.com/peerweave/peerweave/internal/wire"
	"github.com/peerweave/peerweave/transport/tcp"
)

// lowatBytes is how much one loopback throughput round writes, and
// lowatRounds how many rounds each setting gets, in turn.
const (
	lowatBytes  = 256 << 20
	lowatRounds = 3
)

// loopbackRate writes lowatBytes over one loopback connection of tr, a
// fragment per write as a node writes bulk data, and returns the rate in
// bytes per second.
func loopbackRate(tr *tcp.Transport) (float64, error) {
	ln, err := tr.Listen("127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	read := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			read <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(io.Discard, c)
		read <- err
	}()
	c, err := tr.Dial(context.Background(), ln.Addr().String())
	if err != nil {
		return 0, err
	}
	buf := make([]byte, wire.MaxFragment)
	start := time.Now()
	for sent := 0; sent < lowatBytes; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			c.Close()
			return 0, err
		}
	}
	c.Close()
	if err := <-read; err != nil {
		return 0, err
	}
	return lowatBytes / time.Since(start).Seconds(), nil
}

// lowatRows measures loopback TCP throughput with TCP_NOTSENT_LOWAT, as
// transport/tcp sets it, against without, in alternating rounds, and
// reports the medians.
func lowatRows() []row {
	what := fmt.Sprintf("Loopback TCP, %s in %s writes: throughput with TCP_NOTSENT_LOWAT (64 KiB), median of %d",
		bench.SizeName(lowatBytes), bench.SizeName(wire.MaxFragment), lowatRounds)
	var with, without []float64
	for range lowatRounds {
		for _, c := range []struct {
			tr    *tcp.Transport
			rates *[]float64
		}{{tcp.New(), &with}, {tcp.New(tcp.WithUnsentLimit(-1)), &without}} {
			r, err := loopbackRate(c.tr)
			if err != nil {
				return []row{failed(what, err)}
			}
			*c.rates = append(*c.rates, r)
		}
	}
	slices.Sort(with)
	slices.Sort(without)
	w, wo := with[len(with)/2], without[len(without)/2]
	return []row{{
		what:     what,
		measured: fmt.Sprintf("%s/s (%s/s to %s/s)", fmtBytes(w), fmtBytes(with[0]), fmtBytes(with[len(with)-1])),
		baseline: fmt.Sprintf("without it: %s/s (%s/s to %s/s)", fmtBytes(wo), fmtBytes(without[0]), fmtBytes(without[len(without)-1])),
		ratio:    fmtRatio(w / wo),
	}}
}
