package gob

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"reflect"
	"sync"
)

// A value's encoding is a gob stream of its own: the definitions of the
// types it holds, then the value. Making a gob encoder and decoder for each
// value would cost tens of microseconds a value, most of it in compiling the
// decoder for types it has never seen, so both are pooled: an encoder per
// Go type, which has sent the type's definitions once and keeps them (the
// prelude) to put before each value; and a decoder per prelude, which has
// read it once and decodes only the value of each later stream with the same
// prelude. What is encoded and decoded is the same as with a new encoder and
// decoder every time. Interfaces are the exception: gob defines the type an
// interface holds inside the value that holds it, so a type with an
// interface in it gets a new encoder every time, and a pooled decoder that
// fails, as it does on a type it was told of before, is retried by a new one.

// maxPreludes and maxPrelude bound the preludes that decoders are pooled
// for, how many and how long: preludes come from the network, and there is
// one per type and sending process. A prelude joins the pool only once a
// stream with it decoded; when maxPreludes are pooled, the one used least
// recently makes room, so that a stranger who sends many preludes (a
// handshake's hello is decoded before anything is proven) cannot keep the
// preludes of later types out for the life of the process: it evicts them
// only for as long as it keeps sending.
const (
	maxPreludes = 256
	maxPrelude  = 4 << 10
)

var (
	encoders sync.Map // reflect.Type -> *sync.Pool of *valueEncoder, nil for a type with an interface in it

	decodersMu sync.Mutex                   // guards decoders and uses
	decoders   = map[string]*decoderEntry{} // by prelude; at most maxPreludes
	uses       uint64                       // a clock of decoderPool's lookups, for recency
)

// decoderEntry is the pool of decoders that have read one prelude, and when
// it was last looked up.
type decoderEntry struct {
	pool    sync.Pool // of *valueDecoder
	lastUse uint64
}

// valueEncoder is a gob stream that has sent the definitions of one Go type.
type valueEncoder struct {
	enc     *gob.Encoder
	out     bytes.Buffer
	prelude []byte
}

// valueDecoder is a gob stream that has read one prelude.
type valueDecoder struct {
	dec *gob.Decoder
	in  bytes.Reader
}

// Marshal encodes v as a gob stream of its own: the definitions of its
// types, then the value. It implements codec.Values.
func (Codec) Marshal(v any) ([]byte, error) { return appendValue(nil, v) }

// appendValue appends the encoding Marshal makes of v to b. If it fails, it
// returns b as it was.
func appendValue(b []byte, v any) ([]byte, error) {
	t := reflect.TypeOf(v)
	pool, known := encoders.Load(t)
	if !known {
		var p *sync.Pool
		if !holdsInterface(t, map[reflect.Type]bool{}) {
			p = new(sync.Pool)
		}
		pool, _ = encoders.LoadOrStore(t, p)
	}
	if pool.(*sync.Pool) == nil {
		out := appender(b)
		if err := gob.NewEncoder(&out).Encode(v); err != nil {
			return b, err
		}
		return out, nil
	}
	e, _ := pool.(*sync.Pool).Get().(*valueEncoder)
	if e == nil {
		e = &valueEncoder{}
		e.enc = gob.NewEncoder(&e.out)
		if err := e.enc.Encode(v); err != nil {
			return b, err
		}
		out := e.out.Bytes()
		e.prelude = bytes.Clone(out[:len(out)-lastMessage(out)])
		b = append(b, out...)
		e.out.Reset()
		pool.(*sync.Pool).Put(e)
		return b, nil
	}
	if err := e.enc.Encode(v); err != nil {
		return b, err // e is dropped: its stream may be broken
	}
	b = append(append(b, e.prelude...), e.out.Bytes()...)
	e.out.Reset()
	pool.(*sync.Pool).Put(e)
	return b, nil
}

// appender is a writer that appends to itself.
type appender []byte

func (a *appender) Write(p []byte) (int, error) {
	*a = append(*a, p...)
	return len(p), nil
}

// Unmarshal decodes b, a value encoded by Marshal, into v. It implements
// codec.Values. As for control messages, it refuses an encoding whose gob
// messages claim more bytes than it holds before encoding/gob sees it.
func (Codec) Unmarshal(b []byte, v any) error {
	if err := check(b); err != nil {
		return err
	}
	prelude := b[:len(b)-lastMessage(b)]
	pool := decoderPool(prelude, false)
	var d *valueDecoder
	if pool != nil {
		d, _ = pool.Get().(*valueDecoder)
	}
	if d != nil {
		err := decode(d, b[len(prelude):], v)
		if err == nil {
			pool.Put(d)
			return nil
		}
		// d is dropped, as its stream may be broken. Only an interface
		// makes a pooled decoder fail where a new one would not: for a
		// value of any other type, the error is the stream's, and a new
		// decoder would only set aside again what the stream claims.
		if !holdsInterface(reflect.TypeOf(v), map[reflect.Type]bool{}) {
			return err
		}
		// A new decoder tries again, on the zero value v pointed to.
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
			rv.Elem().SetZero()
		}
	}
	d = &valueDecoder{}
	d.dec = gob.NewDecoder(&d.in)
	if err := decode(d, b, v); err != nil {
		return err
	}
	if pool == nil {
		pool = decoderPool(prelude, true)
	}
	if pool != nil {
		pool.Put(d)
	}
	return nil
}

// decode decodes b, one whole value, with d into v.
func decode(d *valueDecoder, b []byte, v any) error {
	d.in.Reset(b)
	defer d.in.Reset(nil)
	if err := d.dec.Decode(v); err != nil {
		return err
	}
	if n := d.in.Len(); n != 0 {
		return fmt.Errorf("gob: %d bytes after the value", n)
	}
	return nil
}

// holdsInterface reports whether a value of type t can hold an interface
// value, seen is the types looked at already.
func holdsInterface(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == nil || seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return holdsInterface(t.Elem(), seen)
	case reflect.Map:
		return holdsInterface(t.Key(), seen) || holdsInterface(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsInterface(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// decoderPool returns the pool of decoders that have read prelude, or nil
// if there is none; with add, it makes one, making room by dropping the
// pool of the prelude looked up least recently if maxPreludes are pooled (a
// scan of them, only when a new prelude decoded).
func decoderPool(prelude []byte, add bool) *sync.Pool {
	decodersMu.Lock()
	defer decodersMu.Unlock()
	uses++
	if e := decoders[string(prelude)]; e != nil {
		e.lastUse = uses
		return &e.pool
	}
	if !add || len(prelude) > maxPrelude {
		return nil
	}
	if len(decoders) >= maxPreludes {
		var oldest string
		var at uint64
		for k, e := range decoders {
			if at == 0 || e.lastUse < at {
				oldest, at = k, e.lastUse
			}
		}
		delete(decoders, oldest)
	}
	e := &decoderEntry{lastUse: uses}
	decoders[string(prelude)] = e
	return &e.pool
}

// lastMessage returns the length of the last gob message of b, a run of
// whole messages (see check), with its count.
func lastMessage(b []byte) int {
	last := len(b)
	for len(b) > 0 {
		n, w := gobUint(b)
		last = w + int(n)
		b = b[last:]
	}
	return last
}
