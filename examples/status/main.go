// Command status serves the status page of a node of a small cluster, next
// to its Prometheus metrics.
//
// Four nodes in one process join each other over TCP on 127.0.0.1, through
// a fault network (package transport/fault), and exchange messages; then
// delta is cut off, so that alpha loses it and redials it. alpha's status
// page (package status) is served at /debug/peerweave/, with its JSON at
// /debug/peerweave/?format=json, and its metrics at /metrics. With no flags
// the program reads its own page once, prints what alpha sees and exits:
//
//	go run ./examples/status
//
// With -serve it keeps serving, for a browser or curl, until interrupted:
//
//	go run ./examples/status -serve 127.0.0.1:8080
//	open http://127.0.0.1:8080/debug/peerweave/
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/metrics/promcluster"
	"github.com/peerweave/peerweave/status"
	"github.com/peerweave/peerweave/transport/fault"
	"github.com/peerweave/peerweave/transport/tcp"
)

func main() {
	serve := flag.String("serve", "", "keep serving the page at this address until interrupted")
	flag.Parse()
	addr := *serve
	if addr == "" {
		addr = "127.0.0.1:0"
	}

	faults := fault.NewNetwork()
	rec := status.NewRecorder(0)
	roles := []struct{ name, role string }{{"alpha", "seed"}, {"bravo", "cache"}, {"charlie", "worker"}, {"delta", "worker"}}
	nodes := make([]*cluster.Node, len(roles))
	for i, r := range roles {
		opts := []cluster.Option{
			cluster.WithTransport(faults.Wrap(tcp.New())),
			cluster.WithName(r.name),
			cluster.WithTags(map[string]string{"role": r.role}),
			// Short intervals, so that delta's loss and redials show
			// within seconds.
			cluster.WithHealthyInterval(time.Second),
			cluster.WithNetworkTimeout(2 * time.Second),
			cluster.WithReconnectInterval(3 * time.Second),
		}
		if i == 0 {
			// The page's Recorder hears alpha's events from the start.
			opts = append(opts, cluster.WithObserver(rec))
		}
		n, err := cluster.NewNode("127.0.0.1:0", opts...)
		if err != nil {
			log.Fatal(err)
		}
		defer n.Close()
		nodes[i] = n
	}
	alpha, delta := nodes[0], nodes[3]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range nodes[1:] {
		if err := n.Add(alpha.String()); err != nil {
			log.Fatal(err)
		}
		if err := n.WaitMesh(ctx); err != nil {
			log.Fatal(err)
		}
	}
	// Some traffic: each node sends alpha ten messages.
	for _, n := range nodes[1:] {
		for i := range 10 {
			if err := n.Send(alpha.Self(), fmt.Appendf(nil, "message %d from %s", i, n.Name())); err != nil {
				log.Fatal(err)
			}
		}
	}
	for range 30 {
		<-alpha.Inbox
	}
	// delta falls silent: alpha removes it, ungracefully, and redials it.
	faults.Isolate(delta.String())
	if err := alpha.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == 2 }); err != nil {
		log.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(promcluster.New(alpha))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/debug/peerweave/", status.Handler(alpha, status.WithRecorder(rec)))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	if *serve != "" {
		fmt.Printf("serving http://%s/debug/peerweave/ and /metrics; interrupt to stop\n", ln.Addr())
		stop, cancelSignal := signal.NotifyContext(context.Background(), os.Interrupt)
		defer cancelSignal()
		<-stop.Done()
		return
	}
	names := make(map[string]string)
	for _, n := range nodes {
		names[n.String()] = n.Name()
	}
	if err := printStatus("http://"+ln.Addr().String()+"/debug/peerweave/?format=json", names); err != nil {
		log.Fatal(err)
	}
}

// printStatus reads the page's JSON once and prints what the node sees,
// without addresses or times, which change from run to run: names gives
// the name of each node's address, which a remote being redialled has none
// of on the page.
func printStatus(url string, names map[string]string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var s status.Status
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	fmt.Printf("%s sees %d remotes and redials %d:\n", s.Node.Name, len(s.Remotes), len(s.Reconnecting))
	// The page sorts remotes by address; names read the same every run.
	slices.SortFunc(s.Remotes, func(a, b status.Remote) int { return strings.Compare(a.Name, b.Name) })
	for _, r := range s.Remotes {
		fmt.Printf("  %s (%s): %s, %d messages received\n", r.Name, r.Tags["role"], r.State, r.MessagesReceived)
	}
	for _, r := range s.Reconnecting {
		fmt.Printf("  %s: %s, with a last error: %t\n", names[r.Address], r.State, r.LastError != "")
	}
	return nil
}
