package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/peerweave/peerweave/cluster"
)

// Every payload starts with a header: a kind byte, the sender's instance id
// and its sequence number, which is unique per sender and grows with every
// message it sends, whoever to.
const headerLen = 1 + 4 + 8

const (
	kindSend      = 's'
	kindBroadcast = 'b'
	kindRequest   = 'q'
)

// msgID names a message: its sender instance and sequence number.
type msgID struct {
	from int
	seq  uint64
}

// sent is a message that Send accepted, with what was known of the pair when
// it was sent: if none of that changed by the end, it must have arrived.
type sent struct {
	from, to   *instance
	at         time.Duration // when Send was called
	accepted   time.Duration // when it returned
	fromBreaks int
	toBreaks   int
}

// request is a Request or Query under way.
type request struct {
	from *instance
	to   string
	what string
	at   time.Duration
}

func header(kind byte, from int, seq uint64, size int) []byte {
	b := make([]byte, max(size, headerLen))
	b[0] = kind
	binary.BigEndian.PutUint32(b[1:], uint32(from))
	binary.BigEndian.PutUint64(b[5:], seq)
	return b
}

func parse(b []byte) (kind byte, id msgID, ok bool) {
	if len(b) < headerLen {
		return 0, msgID{}, false
	}
	return b[0], msgID{int(binary.BigEndian.Uint32(b[1:])), binary.BigEndian.Uint64(b[5:])}, true
}

// read is a node's application reading its Inbox: each message must come
// from the node that sent it, after the ones it sent before, and once.
func (w *world) read(in *instance) {
	for {
		w.mu.Lock()
		pause := time.Until(in.pauseUntil)
		w.mu.Unlock()
		if pause > 0 {
			time.Sleep(pause)
		}
		m, ok := <-in.node.Inbox
		if !ok {
			return
		}
		kind, id, ok := parse(m.Payload)
		w.mu.Lock()
		from := w.insts[id.from]
		switch {
		case !ok || (kind != kindSend && kind != kindBroadcast) || from == nil:
			w.failLocked(in.String(), m.From.String(), "a message no node sent: %q", m.Payload[:min(len(m.Payload), 32)])
		case m.From.String() != from.addr:
			w.failLocked(in.String(), from.String(), "message %d says it is from %s", id.seq, m.From)
		case id.seq <= in.last[id.from]:
			w.failLocked(in.String(), from.String(), "message %d arrived after message %d: out of order or twice", id.seq, in.last[id.from])
		default:
			in.last[id.from] = id.seq
			w.res.Received++
			w.got[id] = true
		}
		w.mu.Unlock()
	}
}

// workload is what a node's application does until the workload stops or
// the node goes: a Send, Broadcast, Request, Query or SetTags every few
// seconds.
func (w *world) workload(in *instance) {
	r := rand.New(rand.NewPCG(w.s.Seed, uint64(in.id)))
	for {
		select {
		case <-w.stop:
			return
		case <-in.quit:
			return
		case <-time.After(randDur(r, 100*time.Millisecond, 5*time.Second)):
		}
		rs := in.node.Remotes()
		if len(rs) == 0 {
			continue
		}
		to := rs[r.IntN(len(rs))]
		switch p := r.IntN(100); {
		case p < 52:
			size := headerLen + r.IntN(200)
			if r.IntN(50) == 0 {
				size = 64<<10 + r.IntN(200<<10)
			}
			w.send(in, to, size)
		case p < 55: // a burst, to fill queues, windows and buffers
			for range 20 + r.IntN(200) {
				w.send(in, to, headerLen+r.IntN(16<<10))
			}
		case p < 65:
			w.mu.Lock()
			in.seq++
			b := header(kindBroadcast, in.id, in.seq, headerLen+r.IntN(100))
			w.mu.Unlock()
			in.node.Broadcast(b)
		case p < 82:
			timeout := randDur(r, time.Second, 30*time.Second)
			w.work.Go(func() { w.request(in, to, timeout) })
		case p < 90:
			timeout := randDur(r, time.Second, 30*time.Second)
			w.work.Go(func() { w.query(in, timeout) })
		default:
			w.mu.Lock()
			in.seq++
			tags := map[string]string{"seq": strconv.FormatUint(in.seq, 10)}
			in.tags = tags
			w.mu.Unlock()
			if err := in.node.SetTags(tags); err != nil && !errors.Is(err, cluster.ErrClosed) {
				w.fail(in.String(), "-", "SetTags: %v", err)
			}
		}
	}
}

// send sends one message and records it if Send accepted it.
func (w *world) send(in *instance, to cluster.Remote, size int) {
	a := to.String()
	w.mu.Lock()
	in.seq++
	id := msgID{in.id, in.seq}
	s := &sent{from: in, at: w.now(), fromBreaks: in.breaks[a]}
	if r := w.byAddr[a]; r != nil && r.gone == 0 {
		s.to, s.toBreaks = r, r.breaks[in.addr]
	}
	w.mu.Unlock()
	if err := in.node.Send(to, header(kindSend, id.from, id.seq, size)); err != nil {
		return
	}
	if s.to == nil {
		return
	}
	w.mu.Lock()
	s.accepted = w.now()
	w.res.Accepted++
	w.sent[id] = s
	w.mu.Unlock()
}

// The handler answers a request with its payload, fails one in seven and
// takes its time over one in five.
func (w *world) handle(ctx context.Context, req *cluster.Message) ([]byte, error) {
	_, id, ok := parse(req.Payload)
	switch {
	case !ok:
		return nil, errors.New("bad request")
	case id.seq%7 == 0:
		return nil, errRefused
	case id.seq%5 == 0:
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(id.seq%20) * time.Second):
		}
	}
	return req.Payload, nil
}

var errRefused = errors.New("refused")

// begin records a request under way, and end its end.
func (w *world) begin(in *instance, to, what string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nextReq++
	w.pending[w.nextReq] = &request{from: in, to: to, what: what, at: w.now()}
	return w.nextReq
}

func (w *world) end(id int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.pending, id)
}

func (w *world) request(in *instance, to cluster.Remote, timeout time.Duration) {
	w.mu.Lock()
	in.seq++
	payload := header(kindRequest, in.id, in.seq, headerLen)
	seq := in.seq
	w.mu.Unlock()
	what := fmt.Sprintf("Request %d", seq)
	id := w.begin(in, to.String(), what)
	defer w.end(id)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	reply, err := in.node.Request(ctx, to, payload)
	w.answer(in, to.String(), what, seq, payload, reply, err, time.Since(start), timeout)
}

func (w *world) query(in *instance, timeout time.Duration) {
	w.mu.Lock()
	in.seq++
	payload := header(kindRequest, in.id, in.seq, headerLen)
	seq := in.seq
	w.mu.Unlock()
	what := fmt.Sprintf("Query %d", seq)
	id := w.begin(in, "*", what)
	defer w.end(id)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	from := make(map[string]bool)
	for _, a := range in.node.Query(ctx, payload).Wait() {
		if from[a.From.String()] {
			w.fail(in.String(), a.From.String(), "%s got two answers from one remote", what)
		}
		from[a.From.String()] = true
		w.answer(in, a.From.String(), what, seq, payload, a.Payload, a.Err, time.Since(start), timeout)
	}
}

// answer checks the outcome of a request: in time, and an answer or one of
// the documented errors.
func (w *world) answer(in *instance, to, what string, seq uint64, payload, reply []byte, err error, took, timeout time.Duration) {
	var re *cluster.RemoteError
	w.mu.Lock()
	w.res.Requests++
	w.mu.Unlock()
	switch {
	case took > timeout:
		w.fail(in.String(), to, "%s took %v, past its context's %v (%v)", what, took, timeout, err)
	case err == nil:
		if !bytes.Equal(reply, payload) {
			w.fail(in.String(), to, "%s answered %q", what, reply[:min(len(reply), 32)])
		}
	case errors.As(err, &re):
		if seq%7 != 0 && !(seq%5 == 0) {
			w.fail(in.String(), to, "%s failed at the remote, whose handler did not fail: %v", what, err)
		}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, cluster.ErrRemoteLeft),
		errors.Is(err, cluster.ErrRemoteLost), errors.Is(err, cluster.ErrUnknownRemote),
		errors.Is(err, cluster.ErrClosed):
	default:
		w.fail(in.String(), to, "%s ended with an undocumented error: %v", what, err)
	}
}
