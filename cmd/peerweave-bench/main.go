// Command peerweave-bench measures what a cluster library is chosen by, on
// one machine in one run, and writes it as a Markdown report: the command
// that made it, the date, the machine (CPU model, cores, Go version, OS),
// one table, and what each row measures. With -out BENCHMARKS.md it writes
// the module's BENCHMARKS.md, whole; nobody edits that file by hand. The
// table has:
//
//   - one-way throughput between two nodes, next to two raw TCP loops that
//     write the same frames with the same payload for the same time, one
//     flushing only when it runs out of work, one flushing every frame; and
//     the same through a message handler (cluster.WithMessageHandler)
//     instead of Inbox;
//   - the same throughput over QUIC, whatever -transport says, next to a raw
//     quic-go stream writing the same frames, QUIC's own floor, and the
//     raw TCP loop;
//   - the same throughput with both nodes observed, by an observer of their
//     events and their Prometheus metrics gathered ten times and a thousand
//     times a second, next to two nodes nobody observes;
//   - round-trip latency (p50, p99) next to a raw TCP ping-pong;
//   - convergence: how long N nodes that each Add one seed (all at once, or
//     one after another with -join sequential) take until every node knows
//     all the others, next to a raw mesh of N listeners in which every pair
//     is dialled once and says a 100-byte hello each way, measured in the
//     same rounds; and the work joining cost each node: connections dialled,
//     dials that lost a simultaneous-dial tie-break, peer-list entries sent;
//   - failure detection: how long until every node has removed one that
//     died, black-holed (only the health checks can tell) or with its
//     connections reset, next to the bound of healthy interval plus network
//     timeout;
//   - heap, goroutine stacks and goroutines per connected remote, from the
//     largest mesh, next to the goal of 8 KiB and one goroutine;
//   - a slow link (-slow-bandwidth, -slow-latency, both ways): the rate of
//     one large payload (-slow-payload) next to the link's bandwidth, and the
//     one-way latency of small messages the other way during it next to one
//     fragment's time on the link, with nobody removed;
//   - an unread inbox: a sender Sends as fast as it may while the receiver
//     reads nothing for -inbox-timeouts network timeouts, then everything;
//     every message Send accepted arrives, in order, and nobody is removed;
//   - requests: the round trip of a Request (p50, p99) next to the raw TCP
//     ping-pong, queries per second over 10 nodes next to asking the same
//     nine remotes one Request at a time, and the throughput of typed
//     values (SendValue and Decode) in gob and in msgpack next to Sends of
//     their bodies as bytes;
//   - a shared secret (cluster.WithSecret: TLS 1.3 on every connection):
//     one-way throughput at 1 KiB and 64 KiB, the round trip (p50, p99),
//     and the convergence of 100 nodes, each next to the same without one;
//   - scale, last, as its heap would weigh on whatever came after it: the
//     convergence of one mesh of -scale-n nodes (500) on the in-memory
//     transport, skipped where the machine has too little memory.
//
// Convergence and failure detection are repeated (-converge-rounds,
// -fail-rounds) on fresh clusters, as their times vary from run to run.
//
// Throughput and latency run in -rounds rounds that alternate between
// peerweave and its baselines, so that a change in the machine's load hits
// both alike; quote ratios from one run only. CPU time per message, which
// other processes on the machine disturb less than rates do, is shown too.
//
// Usage:
//
//	go run ./cmd/peerweave-bench
//	go run ./cmd/peerweave-bench -out BENCHMARKS.md
//	go run ./cmd/peerweave-bench -transport mem -n 10,50,100,200
//	go run ./cmd/peerweave-bench -only throughput -duration 10s -cpuprofile cpu.out
//
// With the defaults it takes about 45 seconds on two cores. Meshes that need
// more file descriptors than the process may open are skipped, and say so.
package main

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/peerweave/peerweave/cluster"
)

// sections are the -only choices, in the order they run.
var sections = []string{"throughput", "quic", "observed", "latency", "convergence", "failure", "slowlink", "inbox", "requests", "secret", "scale"}

type config struct {
	transportName, codecName string
	transport                transport
	codec                    cluster.Codec
	payload                  int
	duration                 time.Duration
	rounds                   int
	sizes                    []int
	concurrent               bool
	convergeRounds           int
	scaleSize                int
	failNodes, failRounds    int
	healthy, timeout         time.Duration
	slowBandwidth            byteSize // per second
	slowLatency              time.Duration
	slowPayload              byteSize
	inboxTimeouts            int
	only                     map[string]bool
	cpuProfile, memProfile   string
	out                      string // the report's file; stdout if empty
}

// ran returns the sections the configuration runs, in their order.
func (cfg config) ran() []string {
	var ss []string
	for _, s := range sections {
		if cfg.only[s] {
			ss = append(ss, s)
		}
	}
	return ss
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peerweave-bench:", err)
		os.Exit(2)
	}
	rep := report{args: os.Args[1:], host: machine(), started: time.Now()} // before the run, so that the load is not ours
	rows, err := profiled(cfg, func() []row { return run(cfg) })
	if err == nil {
		rep.rows, rep.took, rep.sections = rows, time.Since(rep.started), cfg.ran()
		if cfg.out == "" {
			err = rep.write(os.Stdout)
		} else {
			err = rep.writeFile(cfg.out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peerweave-bench:", err)
		os.Exit(1)
	}
	for _, r := range rows {
		if r.failed {
			os.Exit(1)
		}
	}
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("peerweave-bench", flag.ContinueOnError)
	var cfg config
	fs.StringVar(&cfg.transportName, "transport", "tcp", "transport: "+strings.Join(slices.Sorted(maps.Keys(transports)), ", "))
	fs.StringVar(&cfg.codecName, "codec", "gob", "codec: "+strings.Join(slices.Sorted(maps.Keys(codecs)), ", "))
	fs.IntVar(&cfg.payload, "payload", 1024, "payload size in bytes for throughput, latency and the unread inbox")
	fs.DurationVar(&cfg.duration, "duration", 2*time.Second, "length of each throughput and latency measurement")
	fs.IntVar(&cfg.rounds, "rounds", 5, "rounds each throughput and latency measurement is split into, interleaved with its baselines")
	sizes := fs.String("n", "10,50,100,200", "comma-separated cluster sizes for convergence")
	join := fs.String("join", "concurrent", "how the nodes Add the seed: concurrent (all at once) or sequential")
	fs.IntVar(&cfg.convergeRounds, "converge-rounds", 3, "convergence runs per cluster size")
	fs.IntVar(&cfg.scaleSize, "scale-n", 500, "cluster size of the scale section's one convergence on mem")
	fs.IntVar(&cfg.failNodes, "fail-n", 10, "cluster size for failure detection")
	fs.IntVar(&cfg.failRounds, "fail-rounds", 3, "failure detection rounds per kind of failure")
	fs.DurationVar(&cfg.healthy, "healthy", 100*time.Millisecond, "healthy interval for failure detection, the slow link and the unread inbox")
	fs.DurationVar(&cfg.timeout, "timeout", 200*time.Millisecond, "network timeout for failure detection, the slow link and the unread inbox")
	cfg.slowBandwidth, cfg.slowPayload = 10<<20, 16<<20
	fs.Var(&cfg.slowBandwidth, "slow-bandwidth", "bandwidth of the slow link, each way, per second (such as 10MiB)")
	fs.DurationVar(&cfg.slowLatency, "slow-latency", time.Millisecond, "latency of the slow link, each way")
	fs.Var(&cfg.slowPayload, "slow-payload", "size of the payload that crosses the slow link (such as 16MiB)")
	fs.IntVar(&cfg.inboxTimeouts, "inbox-timeouts", 5, "network timeouts for which the unread inbox is not read")
	only := fs.String("only", "", "comma-separated sections to run: "+strings.Join(sections, ", ")+" (default all; memory comes with convergence)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to `file`")
	fs.StringVar(&cfg.memProfile, "memprofile", "", "write an allocation profile of the run to `file`")
	fs.StringVar(&cfg.out, "out", "", "write the report, whole, to `file` (such as BENCHMARKS.md) instead of stdout")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	var ok bool
	if cfg.transport, ok = transports[cfg.transportName]; !ok {
		return cfg, fmt.Errorf("unknown transport %q", cfg.transportName)
	}
	if cfg.codec, ok = codecs[cfg.codecName]; !ok {
		return cfg, fmt.Errorf("unknown codec %q", cfg.codecName)
	}
	switch *join {
	case "concurrent", "sequential":
		cfg.concurrent = *join == "concurrent"
	default:
		return cfg, fmt.Errorf("-join must be concurrent or sequential, not %q", *join)
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			return cfg, fmt.Errorf("-n: %q is not a cluster size of 2 or more", s)
		}
		cfg.sizes = append(cfg.sizes, n)
	}
	cfg.only = make(map[string]bool)
	if *only == "" {
		*only = strings.Join(sections, ",")
	}
	for _, s := range strings.Split(*only, ",") {
		if !slices.Contains(sections, s) {
			return cfg, fmt.Errorf("-only: unknown section %q", s)
		}
		cfg.only[s] = true
	}
	switch {
	case cfg.payload < 0 || cfg.payload > cluster.DefaultMaxMessageSize:
		return cfg, fmt.Errorf("-payload must be 0 to %d bytes", cluster.DefaultMaxMessageSize)
	case cfg.duration <= 0 || cfg.healthy <= 0 || cfg.timeout <= 0:
		return cfg, errors.New("-duration, -healthy and -timeout must be positive")
	case cfg.failNodes < 2 || cfg.scaleSize < 2 || cfg.failRounds < 1 || cfg.rounds < 1 || cfg.convergeRounds < 1:
		return cfg, errors.New("-fail-n and -scale-n must be at least 2; -rounds, -converge-rounds and -fail-rounds at least 1")
	case cfg.slowBandwidth < 1 || cfg.slowBandwidth > 1<<40:
		return cfg, errors.New("-slow-bandwidth must be 1 byte to 1 TiB per second")
	case cfg.slowLatency < 0:
		return cfg, errors.New("-slow-latency must not be negative")
	case cfg.slowPayload < 1 || cfg.slowPayload > 1<<30:
		return cfg, errors.New("-slow-payload must be 1 byte to 1 GiB")
	case cfg.inboxTimeouts < 1:
		return cfg, errors.New("-inbox-timeouts must be at least 1")
	}
	return cfg, nil
}

// profiled runs f, under the profiles the configuration asks for.
func profiled(cfg config, f func() []row) ([]row, error) {
	if cfg.cpuProfile != "" {
		out, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	rows := f()
	if cfg.memProfile != "" {
		out, err := os.Create(cfg.memProfile)
		if err != nil {
			return nil, err
		}
		defer out.Close()
		if err := pprof.Lookup("allocs").WriteTo(out, 0); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// run runs the sections the configuration asks for and returns their rows.
func run(cfg config) []row {
	var rows []row
	for _, s := range sections {
		if !cfg.only[s] {
			continue
		}
		progress("%s...", s)
		switch s {
		case "throughput":
			rows = append(rows, throughput(cfg)...)
		case "quic":
			rows = append(rows, quicThroughput(cfg)...)
		case "observed":
			rows = append(rows, observed(cfg)...)
		case "latency":
			rows = append(rows, latency(cfg)...)
		case "convergence":
			rows = append(rows, convergence(cfg)...)
		case "scale":
			rows = append(rows, scale(cfg)...)
		case "failure":
			rows = append(rows, failure(cfg)...)
		case "slowlink":
			rows = append(rows, slowLink(cfg)...)
		case "inbox":
			rows = append(rows, unreadInbox(cfg)...)
		case "requests":
			rows = append(rows, requests(cfg)...)
		case "secret":
			rows = append(rows, secretCost(cfg)...)
		}
	}
	return rows
}

// progress tells the user, on stderr, what the run is doing.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "peerweave-bench: "+format+"\n", args...)
}
