package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/bench"
	"github.com/peerweave/peerweave/transport/quic"
)

// quicGoal is the least share of its own stack's throughput, a raw quic-go
// stream, that a node over QUIC keeps.
const quicGoal = 0.8

// quicThroughput measures one-way throughput between two nodes over QUIC,
// whatever -transport says, next to a raw quic-go stream and the raw TCP
// loop, both writing the same frames through a buffer flushed when out of
// work, in interleaved rounds. The first row tells how much of QUIC's cost
// is the node's, the second how far QUIC is from TCP. Each ratio is that of
// the totals, with the median and range of the rounds' own ratios, which
// show how much the machine's load moved it.
func quicThroughput(cfg config) []row {
	what := fmt.Sprintf("One-way throughput, quic+%s, %s", cfg.codecName, bench.SizeName(cfg.payload))
	network := func() cluster.Transport { return quic.New() }
	opens := []func() (bench.Stream, error){
		func() (bench.Stream, error) { return bench.NodeStream(network, cfg.codec) },
		bench.RawQUICStream,
		func() (bench.Stream, error) { return bench.RawStream(false) },
	}
	rounds, err := streamRounds(cfg, opens)
	if err != nil {
		return []row{failed(what, err)}
	}
	return []row{
		vsRounds(what, rounds, 0, 1, fmt.Sprintf("raw quic-go stream, flushed when out of work (goal ≥ %.2g×)", quicGoal)),
		vsRounds(what, rounds, 0, 2, "raw TCP, flushed when out of work"),
	}
}

// streamRounds opens and warms up a Stream with each of opens, measures them
// all with the configured payload in interleaved rounds, and returns each
// round's rates, in the order of opens.
func streamRounds(cfg config, opens []func() (bench.Stream, error)) ([][]bench.Rate, error) {
	payload := make([]byte, cfg.payload)
	streams, closeAll, err := openAll(opens, func(s bench.Stream) error { return bench.Count(s, payload, bench.Warmup) })
	defer closeAll()
	if err != nil {
		return nil, err
	}
	var rounds [][]bench.Rate
	for range cfg.rounds {
		round := make([]bench.Rate, len(streams))
		for i, s := range streams {
			if round[i], err = bench.For(s, payload, cfg.duration/time.Duration(cfg.rounds)); err != nil {
				return nil, err
			}
		}
		rounds = append(rounds, round)
	}
	return rounds, nil
}

// vsRounds is the row of stream m measured against stream b over rounds:
// the ratio of their totals, and the median, lowest and highest of the
// rounds' ratios.
func vsRounds(what string, rounds [][]bench.Rate, m, b int, baseline string) row {
	var tm, tb bench.Rate
	ratios := make([]float64, len(rounds))
	for i, r := range rounds {
		tm, tb = tm.Plus(r[m]), tb.Plus(r[b])
		ratios[i] = r[m].MsgsPerSec() / r[b].MsgsPerSec()
	}
	slices.Sort(ratios)
	return row{
		what:     what,
		measured: fmtRate(tm),
		baseline: baseline + ": " + fmtRate(tb),
		ratio: fmt.Sprintf("%s (%d rounds: median %s, %s to %s)", fmtRatio(tm.MsgsPerSec()/tb.MsgsPerSec()),
			len(ratios), fmtRatio(ratios[len(ratios)/2]), fmtRatio(ratios[0]), fmtRatio(ratios[len(ratios)-1])),
	}
}
