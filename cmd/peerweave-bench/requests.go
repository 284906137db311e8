package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/bench"
)

// queryNodes is the size of the cluster that queries run over: one node
// asks the other nine.
const queryNodes = 10

// requests measures requests and replies: the round trip of a Request next
// to a raw TCP ping-pong, queries over queryNodes nodes next to asking the
// same remotes one Request at a time, and typed values in each codec next
// to raw payloads of the same size, all in interleaved rounds.
func requests(cfg config) []row {
	rows := requestLatency(cfg)
	rows = append(rows, queries(cfg))
	for _, name := range slices.Sorted(maps.Keys(codecs)) {
		rows = append(rows, values(cfg, name))
	}
	return rows
}

// requestLatency measures Request round trips and a raw TCP ping-pong.
func requestLatency(cfg config) []row {
	what := fmt.Sprintf("Request round trip, %s, %s", cfg.stackName(), bench.SizeName(cfg.payload))
	opens := []func() (bench.Echo, error){
		func() (bench.Echo, error) { return bench.NodeRequests(cfg.transport.network(), cfg.codec) },
		bench.RawEcho,
	}
	rows, err := tripRows(cfg, what, opens)
	if err != nil {
		return []row{failed(what, err)}
	}
	return rows
}

// queries measures how many queries per second one node of a queryNodes
// mesh gets answered by all the others, next to asking them the same with
// one Request after another.
func queries(cfg config) row {
	what := fmt.Sprintf("Queries, %s, %d nodes (one asks %d), %s", cfg.stackName(), queryNodes, queryNodes-1, bench.SizeName(cfg.payload))
	f, err := newFleet(queryNodes, cfg.transport.network(), cfg.codec)
	if err != nil {
		return failed(what, err)
	}
	defer f.close()
	if _, err := f.converge(true); err != nil {
		return failed(what, err)
	}
	for _, n := range f.nodes[1:] {
		n.SetRequestHandler(func(_ context.Context, req *cluster.Message) ([]byte, error) { return req.Payload, nil })
	}
	asker, payload := f.nodes[0], make([]byte, cfg.payload)
	ask := func() error {
		for _, a := range asker.Query(context.Background(), payload).Wait() {
			if a.Err != nil {
				return fmt.Errorf("%s: %w", a.From, a.Err)
			}
		}
		return nil
	}
	inTurn := func() error {
		for _, r := range asker.Remotes() {
			if _, err := asker.Request(context.Background(), r, payload); err != nil {
				return err
			}
		}
		return nil
	}
	var counts [2]int
	var took [2]time.Duration
	for range cfg.rounds {
		for i, f := range []func() error{ask, inTurn} {
			start := time.Now()
			for time.Since(start) < cfg.duration/time.Duration(cfg.rounds) {
				if err := f(); err != nil {
					return failed(what, err)
				}
				counts[i]++
			}
			took[i] += time.Since(start)
		}
	}
	q, s := float64(counts[0])/took[0].Seconds(), float64(counts[1])/took[1].Seconds()
	return row{
		what:     what,
		measured: fmt.Sprintf("%s queries/s", group(int64(q))),
		baseline: fmt.Sprintf("%d Requests in turn: %s rounds/s", queryNodes-1, group(int64(s))),
		ratio:    fmtRatio(q / s),
	}
}

// values measures the throughput of typed values in the codec called name,
// whatever -codec says, next to raw payloads of the same size.
func values(cfg config, name string) row {
	codec := codecs[name]
	what := fmt.Sprintf("Typed values, %s+%s, SendValue and Decode of a struct with a %s body", cfg.transportName, name, bench.SizeName(cfg.payload))
	opens := []func() (bench.Stream, error){
		func() (bench.Stream, error) { return bench.NodeValues(cfg.transport.network(), codec) },
		func() (bench.Stream, error) { return bench.NodeStream(cfg.transport.network(), codec) },
	}
	payload := make([]byte, cfg.payload)
	streams, closeAll, err := openAll(opens, func(s bench.Stream) error { return bench.Count(s, payload, bench.Warmup) })
	defer closeAll()
	if err != nil {
		return failed(what, err)
	}
	rates := make([]bench.Rate, len(streams))
	for range cfg.rounds {
		for i, s := range streams {
			r, err := bench.For(s, payload, cfg.duration/time.Duration(cfg.rounds))
			if err != nil {
				return failed(what, err)
			}
			rates[i] = rates[i].Plus(r)
		}
	}
	return row{
		what:     what,
		measured: fmtRate(rates[0]),
		baseline: "Send of the body as bytes: " + fmtRate(rates[1]),
		ratio:    fmtRatio(rates[0].MsgsPerSec() / rates[1].MsgsPerSec()),
	}
}
