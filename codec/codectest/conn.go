package codectest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"time"

	"github.com/peerweave/peerweave/codec"
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

// header stands for the frame header that a node has an encoder append a
// message to.
var header = []byte("head!")

// encode encodes vs, pointers to messages, as one connection sends them: in
// order, with one Encoder, each appended to a buffer that holds a frame
// header, as a node does.
func (s *suite) encode(vs ...any) ([]frame, error) {
	enc := s.codec.NewEncoder()
	fs := make([]frame, len(vs))
	var buf []byte
	for i, v := range vs {
		b, err := enc.Append(append(buf[:0], header...), v)
		switch {
		case err != nil:
			err = fmt.Errorf("Append(%T): %w", v, err)
		case !bytes.HasPrefix(b, header):
			err = fmt.Errorf("Append(%T) changed the bytes it appends to", v)
		case len(b) == len(header):
			err = fmt.Errorf("Append(%T) appended nothing: the node takes an empty body for a missing message", v)
		}
		if err != nil {
			return nil, fmt.Errorf("message %d of the connection: %w", i+1, err)
		}
		fs[i] = frame{body: bytes.Clone(b[len(header):]), typ: reflect.TypeOf(v).Elem()}
		buf = b
	}
	return fs, nil
}

// receiver is the decoding end of a connection. Like a node, it reads each
// frame body into a buffer that it reuses for the next.
type receiver struct {
	dec codec.Decoder
	buf []byte
}

// outcome is what one Decode did.
type outcome struct {
	v     any    // a pointer to the value decoded into
	err   error  // what Decode returned
	alloc uint64 // bytes allocated while Decode ran
}

// decode hands f to the decoder, into a new value of f's type, as a node
// does, then overwrites the body: the decoded value must not alias it. A
// panic comes back as an error. A Decode that does not return within
// hangLimit crashes the test binary, naming the frame: nothing else can stop
// it.
func (r *receiver) decode(f frame, precise bool) (o outcome, err error) {
	o.v = reflect.New(f.typ).Interface()
	r.buf = append(r.buf[:0], f.body...)
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
	o.err = r.dec.Decode(r.buf, o.v)
	o.alloc = allocated(precise) - before
	for i := range r.buf {
		r.buf[i] ^= 0xff
	}
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
	r := &receiver{dec: s.codec.NewDecoder()}
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
		if o.err != nil {
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
		return outcome{}, fmt.Errorf("setting up the connection: Decode failed on %v: %w", prefix[n], outs[n].err)
	}
	return outs[len(prefix)], nil
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
