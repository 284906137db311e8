package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// report is what a run writes, whole: BENCHMARKS.md with -out. Nobody edits
// it by hand; the command at its top makes it again.
type report struct {
	args     []string  // the program's arguments, for the command line
	host     string    // machine(), taken before the run
	started  time.Time // when the run started
	took     time.Duration
	rows     []row
	sections []string // the sections that ran
}

// write writes the report in Markdown.
func (r report) write(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# peerweave benchmarks\n\n")
	b.WriteString("Written whole by `cmd/peerweave-bench`; do not edit it by hand, run the command again.\n\n")
	fmt.Fprintf(&b, "- Command: `%s`\n", command(r.args))
	fmt.Fprintf(&b, "- Date: %s (the run took %s)\n", r.started.UTC().Format("2006-01-02 15:04 MST"), r.took.Round(time.Second))
	fmt.Fprintf(&b, "- %s\n", r.host)
	fmt.Fprintf(&b, "- OS: %s\n", osName())
	fmt.Fprintf(&b, "- Sections: %s\n\n", strings.Join(r.sections, ", "))
	b.WriteString("Numbers move with the machine's load, so compare the ratios of one run, not numbers across runs.\n\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	printTable(w, r.rows)
	_, err := io.WriteString(w, howToRead)
	return err
}

// writeFile writes the report to path, whole or not at all: into a
// temporary file beside it, renamed over it once written.
func (r report) writeFile(path string) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, strings.TrimSuffix(base, filepath.Ext(base))+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := r.write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// command is the command line that makes the report again.
func command(args []string) string {
	words := []string{"go", "run", "./cmd/peerweave-bench"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$`\\|&;<>()*?[]#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

// osName names the operating system and its release where the system says
// it.
func osName() string {
	var parts []string
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				parts = append(parts, strings.Trim(v, `"`))
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		parts = append(parts, "kernel "+strings.TrimSpace(string(b)))
	}
	if len(parts) == 0 {
		return "unknown"
	}
	return strings.Join(parts, ", ")
}

// howToRead says what each row measures, under the table.
const howToRead = `
## How to read it

Every row puts peerweave next to a baseline measured in the same run; the last column is their ratio.

- **Throughput** is messages sent by one node and read from the other's ` + "`Inbox`" + ` (or handed to a message
  handler) per second, over -duration in -rounds rounds that alternate with the baselines, so that a change in
  the machine's load hits both alike. *Flushed when out of work* writes the same frames over a plain ` + "`net.Conn`" + `
  through a ` + "`bufio.Writer`" + ` flushed only when it has nothing more to write; *flushed every frame* makes one system
  call per message, as a library that writes each message on its own would. CPU/msg is the CPU time the whole
  process used per message, which other processes disturb less than the rates.
- **QUIC** is the same throughput over ` + "`transport/quic`" + `, whatever -transport says, next to a raw quic-go stream
  (one connection, one stream, the same frames through a ` + "`bufio.Writer`" + ` flushed when out of work, quic-go's
  defaults on a bare UDP socket): how much of QUIC's cost is peerweave's and how much quic-go's. The ratio is
  that of the totals, with the median and range of the rounds' own ratios.
- **Observed** is the same throughput with both nodes observed (an event counter and their Prometheus metrics
  gathered ten and a thousand times a second), next to two nodes nobody observes.
- **Round trip** is a ` + "`Send`" + `, the far node sending the payload back from its ` + "`Inbox`" + `, and reading it,
  next to a raw TCP ping-pong; p50 and p99.
- **Convergence**: every node but one calls ` + "`Add`" + ` with that one (the seed) at the same time; the clock stops
  when every node knows all the others. The median of fresh clusters, and the range. The baseline is a raw mesh
  of N listeners in which every pair is dialled once (4 dials per node at once, as a node dials) and says a
  100-byte hello each way. *Join work* is what the join cost each node: connections it dialled, dials that lost
  a simultaneous-dial tie-break, and peer-list entries it sent. A mesh that needs more open files than the
  process may have is skipped, and says so.
- **Failure detection**: a node of a healthy cluster is cut off by ` + "`transport/fault`" + `, black-holed (only the
  health checks can tell, the worst case) or with its connections reset; the clock stops when every other node
  has removed it. The bound is what the health checks promise: healthy interval plus network timeout.
- **Memory** is the live heap, goroutine stacks and goroutines added by connecting the largest mesh, per
  connected remote (a connection has a remote at each end), once the mesh is idle.
- **Slow link**: one node sends one large payload over ` + "`transport/fault`" + ` links shaped to a bandwidth and a latency
  each way, while the other sends it a small timestamped message every 2 ms: the payload's rate against the
  link's bandwidth, and the small messages' one-way latency against the time one 64 KiB fragment takes on the
  link, with nobody removed.
- **Unread inbox**: a sender sends as fast as ` + "`Send`" + ` allows while the receiver reads nothing for several
  network timeouts, then everything: every message ` + "`Send`" + ` accepted arrives, in order, the others fail with
  ` + "`ErrTimeout`" + `, and nobody is removed.
- **Requests**: a ` + "`Request`" + ` answered by a handler that echoes, next to the raw ping-pong; queries of the nine
  other nodes of a 10-node mesh per second, next to asking them one ` + "`Request`" + ` after another; typed values
  (` + "`SendValue`" + ` and ` + "`Decode`" + ` of a struct with a 1 KiB body) next to ` + "`Send`" + ` of the body as bytes.
- **Scale**: the convergence of one large mesh on the in-memory transport, run last, once, and skipped where
  memory is short.

To profile the hot path: ` + "`go test -run='^$' -bench='OneWay/1KiB/tcp\\+gob' -cpuprofile cpu.out ./cluster`" + `, or
` + "`go run ./cmd/peerweave-bench -only throughput -cpuprofile cpu.out`" + `, then ` + "`go tool pprof -top cpu.out`" + `.
`
