// Command metrics serves the Prometheus metrics of a small cluster.
//
// Three nodes in one process join each other over TCP, exchange messages
// and lose one of them; one registry holds the metrics of all three, each
// labelled with its node's address, and an HTTP server serves them at
// /metrics. With no flags the program scrapes itself once, prints the
// metrics of the first node and exits:
//
//	go run ./examples/metrics
//
// With -serve it keeps serving, for Prometheus or curl, until interrupted:
//
//	go run ./examples/metrics -serve 127.0.0.1:9100
//	curl -s 127.0.0.1:9100/metrics | grep ^peerweave_
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/metrics/promcluster"
)

func main() {
	serve := flag.String("serve", "", "keep serving /metrics at this address until interrupted")
	flag.Parse()
	addr := *serve
	if addr == "" {
		addr = "127.0.0.1:0"
	}

	nodes := make([]*cluster.Node, 3)
	reg := prometheus.NewRegistry()
	for i := range nodes {
		n, err := cluster.New("127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		defer n.Close()
		nodes[i] = n
		// One label tells the nodes of this process apart; per-remote
		// series are on request, since their number grows with the cluster.
		prometheus.WrapRegistererWith(prometheus.Labels{"node": n.String()}, reg).
			MustRegister(promcluster.New(n, promcluster.WithRemoteLabels()))
	}
	a, b, c := nodes[0], nodes[1], nodes[2]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range []*cluster.Node{b, c} {
		if err := n.Add(a.String()); err != nil {
			log.Fatal(err)
		}
		if err := n.WaitMesh(ctx); err != nil {
			log.Fatal(err)
		}
	}
	// Some traffic: b and c send ten messages each.
	for _, n := range []*cluster.Node{b, c} {
		for i := range 10 {
			if err := n.Send(cluster.Remote(*a.Addr()), fmt.Appendf(nil, "message %d from %s", i, n)); err != nil {
				log.Fatal(err)
			}
		}
	}
	for range 20 {
		<-a.Inbox
	}
	// c leaves; a and b remove it.
	c.Close()
	if err := a.Wait(ctx, func(rs []cluster.Remote) bool { return len(rs) == 1 }); err != nil {
		log.Fatal(err)
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	if *serve != "" {
		fmt.Printf("serving http://%s/metrics; interrupt to stop\n", ln.Addr())
		stop, cancelSignal := signal.NotifyContext(context.Background(), os.Interrupt)
		defer cancelSignal()
		<-stop.Done()
		return
	}
	if err := printMetrics("http://"+ln.Addr().String()+"/metrics", a.String()); err != nil {
		log.Fatal(err)
	}
}

// printMetrics scrapes url once and prints the samples of node, without
// the comments.
func printMetrics(url, node string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	fmt.Printf("metrics of node %s, from %s:\n", node, url)
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		l := lines.Text()
		if strings.HasPrefix(l, "peerweave_") && strings.Contains(l, `node="`+node+`"`) {
			fmt.Println(l)
		}
	}
	return lines.Err()
}
