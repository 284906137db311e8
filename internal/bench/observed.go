package bench

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/peerweave/peerweave/cluster"
)

// ScrapeEvery is how often BenchmarkObserved reads its nodes' statistics:
// far more often than a metrics scraper would (every 15 s or so), so that
// what it costs shows.
const ScrapeEvery = time.Millisecond

// ObservedNodeStream is NodeStream with its nodes observed: an observer
// counts every event of both, and every interval a goroutine calls the
// function that scraper made for the two nodes, until Close.
func ObservedNodeStream(transport func() cluster.Transport, codec cluster.Codec, every time.Duration, scraper func(a, b *cluster.Node) func()) (Stream, error) {
	var events atomic.Int64
	count := cluster.ObserverFunc(func(cluster.Event) { events.Add(1) })
	s, err := NodeStream(transport, codec, cluster.WithObserver(count))
	if err != nil {
		return nil, err
	}
	ns := s.(*nodeStream)
	o := &observedStream{nodeStream: ns, stop: make(chan struct{})}
	scrape := scraper(ns.a, ns.b)
	o.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-o.stop:
				return
			case <-t.C:
				scrape()
			}
		}
	})
	return o, nil
}

// ScrapeStats returns a scraper that reads every statistic of the nodes, as
// a metrics collector does.
func ScrapeStats(a, b *cluster.Node) func() {
	return func() {
		for _, n := range []*cluster.Node{a, b} {
			n.Stats()
			n.AllRemoteStats()
		}
	}
}

type observedStream struct {
	*nodeStream
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func (o *observedStream) Close() error {
	o.once.Do(func() { close(o.stop) })
	o.wg.Wait()
	return o.nodeStream.Close()
}
