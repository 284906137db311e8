package status_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/status"
	"github.com/peerweave/peerweave/transport/mem"
)

// A node's status page mounted on an admin mux, next to whatever else is
// there, and read as JSON as a tool would.
func Example() {
	network := mem.NewNetwork()
	rec := status.NewRecorder(0)
	a, err := cluster.NewNode("10.0.0.1:7946", cluster.WithTransport(network),
		cluster.WithName("alpha"), cluster.WithObserver(rec))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := cluster.NewNode("10.0.0.2:7946", cluster.WithTransport(network),
		cluster.WithName("bravo"), cluster.WithTags(map[string]string{"role": "cache"}))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if err := b.Add(a.String()); err != nil {
		log.Fatal(err)
	}
	if err := a.Wait(context.Background(), func(rs []cluster.Remote) bool { return len(rs) == 1 }); err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/debug/peerweave/", status.Handler(a, status.WithRecorder(rec)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/debug/peerweave/?format=json")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var s status.Status
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		log.Fatal(err)
	}
	fmt.Println("node", s.Node.Name, "at", s.Node.Address)
	for _, r := range s.Remotes {
		fmt.Println("remote", r.Name, "at", r.Address, r.State, r.Tags)
	}
	// Output:
	// node alpha at 10.0.0.1:7946
	// remote bravo at 10.0.0.2:7946 connected map[role:cache]
}
