package codectest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"time"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/wire"
)

// hangLimit is how long a Decode may take before the suite calls it hung.
// Decoding a frame of a few hundred kilobytes takes milliseconds, even under
// the race detector on a loaded machine.
const hangLimit = 10 * time.Second

// frame is one frame body and the message type a node decodes it as.
type frame struct {
	body []byte
	typ  reflect.Type
}

// String describes the frame for failure reports.
func (f frame) String() string {
	const show = 48
	if len(f.body) > show {
		return fmt.Sprintf("%d-byte %s frame %x…", len(f.body), f.typ.Name(), f.body[:show])
	}
	return fmt.Sprintf("%d-byte %s frame %x", len(f.body), f.typ.Name(), f.body)
}

// sender is the encoding end of a connection. Like a node, it gives the
// encoder a plain io.Writer and takes whatever one Encode writes as one frame
// body.
type sender struct {
	enc cluster.Encoder
	out []byte
}

func newSender(c cluster.Codec) *sender {
	s := &sender{}
	s.enc = c.NewEncoder(writerFunc(func(b []byte) (int, error) {
		s.out = append(s.out, b...)
		return len(b), nil
	}))
	return s
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// send encodes v, a pointer to a message, into a frame.
func (s *sender) send(v any) (frame, error) {
	s.out = s.out[:0]
	if err := s.enc.Encode(v); err != nil {
		return frame{}, fmt.Errorf("Encode(%T): %w", v, err)
	}
	if len(s.out) == 0 {
		return frame{}, fmt.Errorf("Encode(%T) wrote nothing: the node takes an empty body for a missing message", v)
	}
	return frame{body: bytes.Clone(s.out), typ: reflect.TypeOf(v).Elem()}, nil
}

// sendAll encodes each of vs on the same connection.
func (s *sender) sendAll(vs ...any) ([]frame, error) {
	fs := make([]frame, len(vs))
	for i, v := range vs {
		var err error
		if fs[i], err = s.send(v); err != nil {
			return nil, err
		}
	}
	return fs, nil
}

// receiver is the decoding end of a connection. Like a node, it makes the
// decoder read from a wire.BodyReader that it resets to each frame in turn.
type receiver struct {
	dec  cluster.Decoder
	body wire.BodyReader
}

func newReceiver(c cluster.Codec) *receiver {
	r := &receiver{}
	r.dec = c.NewDecoder(&r.body)
	return r
}

// outcome is what one Decode did.
type outcome struct {
	v        any    // a pointer to the value decoded into
	err      error  // what Decode returned
	leftover int    // bytes of the frame that Decode left unread
	alloc    uint64 // bytes allocated while Decode ran
}

// accepted reports whether a node would take the message: Decode succeeded
// and read the whole frame.
func (o outcome) accepted() bool { return o.err == nil && o.leftover == 0 }

// decode hands f to the decoder, into a new value of f's type, as a node
// does. A panic comes back as an error. A Decode that does not return within
// hangLimit crashes the test binary, naming the frame: nothing else can stop
// it.
func (r *receiver) decode(f frame, precise bool) (o outcome, err error) {
	o.v = reflect.New(f.typ).Interface()
	r.body.Reset(f.body)
	watchdog := time.AfterFunc(hangLimit, func() {
		debug.SetTraceback("all")
		panic(fmt.Sprintf("codectest: Decode did not return within %v on %v", hangLimit, f))
	})
	defer watchdog.Stop()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("Decode panicked on %v: %v\n%s", f, p, debug.Stack())
		}
	}()
	before := allocated(precise)
	o.err = r.dec.Decode(o.v)
	o.alloc = allocated(precise) - before
	o.leftover = r.body.Len()
	return o, nil
}

// deliver decodes frames in order on a fresh connection and stops after the
// first that a node would refuse, as a node hangs up then. It returns what
// each Decode did, or a failure: a panic, or a Decode that allocated more
// than the bound. An apparent excess is measured again, exactly and from the
// start, up to twice: other goroutines and the runtime's lazy accounting can
// inflate one reading, but not three.
func (s *suite) deliver(frames []frame) ([]outcome, error) {
	var excess error
	for attempt := range 3 {
		outs, err := s.deliverOnce(frames, attempt > 0)
		if !errors.As(err, new(*excessError)) {
			return outs, err
		}
		excess = err
	}
	return nil, excess
}

func (s *suite) deliverOnce(frames []frame, precise bool) ([]outcome, error) {
	r := newReceiver(s.codec)
	outs := make([]outcome, 0, len(frames))
	for _, f := range frames {
		o, err := r.decode(f, precise)
		if err != nil {
			return nil, err
		}
		if limit := s.bound(len(f.body)); o.alloc > limit {
			return nil, &excessError{f: f, alloc: o.alloc, limit: limit}
		}
		outs = append(outs, o)
		if !o.accepted() {
			break
		}
	}
	return outs, nil
}

// after decodes the frames of prefix, each of which must be accepted, then
// f, on a fresh connection, and returns what the Decode of f did.
func (s *suite) after(prefix []frame, f frame) (outcome, error) {
	outs, err := s.deliver(append(prefix[:len(prefix):len(prefix)], f))
	if err != nil {
		return outcome{}, err
	}
	if n := len(outs) - 1; n < len(prefix) {
		return outcome{}, fmt.Errorf("setting up the connection: %v", refusal(prefix[n], outs[n]))
	}
	return outs[len(prefix)], nil
}

// refusal says why a node would refuse a frame it should accept.
func refusal(f frame, o outcome) error {
	if o.err != nil {
		return fmt.Errorf("Decode failed on %v: %w", f, o.err)
	}
	return fmt.Errorf("Decode left %d bytes of %v", o.leftover, f)
}

// excessError reports a Decode that allocated more than the bound.
type excessError struct {
	f     frame
	alloc uint64
	limit uint64
}

func (e *excessError) Error() string {
	return fmt.Sprintf("Decode allocated %d bytes on %v; the bound for it is %d", e.alloc, e.f, e.limit)
}
