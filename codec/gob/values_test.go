package gob

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type benchValue struct {
	Seq  int64
	Kind string
	Tags []string
	Body []byte
}

type shape interface{ area() int }

type square struct{ Side int }

func (s square) area() int { return s.Side * s.Side }

type drawing struct {
	Name   string
	Shapes []shape
}

func init() { gob.Register(square{}) }

// Every value Marshal makes, pooled encoder or not, is a gob stream of its
// own that a new decoder reads; and pooled decoders read what new ones do,
// from many goroutines at once, several types interleaved.
func TestValuesArePooledFaithfully(t *testing.T) {
	c := Codec{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				v := benchValue{Seq: int64(g*1000 + i), Kind: fmt.Sprint("k", i), Tags: []string{"a", ""}, Body: []byte{byte(i)}}
				d := drawing{Name: fmt.Sprint("d", i), Shapes: []shape{square{Side: i}}}
				for _, x := range []any{&v, &d, ptr(i)} {
					b, err := c.Marshal(x)
					if !assert.NoError(t, err) {
						return
					}
					fresh := newOf(x)
					assert.NoError(t, gob.NewDecoder(bytes.NewReader(b)).Decode(fresh), "a new decoder reads the stream")
					pooled := newOf(x)
					assert.NoError(t, c.Unmarshal(b, pooled))
					assert.Equal(t, x, pooled)
					assert.Equal(t, fresh, pooled)
				}
			}
		})
	}
	wg.Wait()
}

// A stream that fails to decode costs the pool its decoder, not later
// streams; and garbage does not add preludes to the pool.
func TestFailedValuesLeaveThePoolSound(t *testing.T) {
	c := Codec{}
	v := benchValue{Seq: 1, Kind: "x", Body: []byte("body")}
	b, err := c.Marshal(&v)
	require.NoError(t, err)
	var w benchValue
	require.NoError(t, c.Unmarshal(b, &w))
	assert.Error(t, c.Unmarshal(b[:len(b)-2], &w), "a value cut short")
	var n int
	assert.Error(t, c.Unmarshal(b, &n), "a value of another type")
	w = benchValue{}
	require.NoError(t, c.Unmarshal(b, &w))
	assert.Equal(t, v, w)

	decodersMu.Lock()
	before := len(decoders)
	decodersMu.Unlock()
	for i := range 100 {
		junk := append([]byte{3, byte(i), 1, 2}, 2, 0xff, 0xff)
		assert.Error(t, c.Unmarshal(junk, &w))
	}
	decodersMu.Lock()
	assert.Equal(t, before, len(decoders), "garbage made preludes")
	decodersMu.Unlock()
}

func newOf(x any) any {
	switch x.(type) {
	case *benchValue:
		return new(benchValue)
	case *drawing:
		return new(drawing)
	default:
		return new(int)
	}
}

func ptr[T any](v T) *T { return &v }

func BenchmarkValues(b *testing.B) {
	c := Codec{}
	v := benchValue{Seq: 1, Kind: "sample", Tags: []string{"a", "b"}, Body: make([]byte, 1024)}
	b.Run("Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Marshal(&v)
		}
	})
	enc, _ := c.Marshal(&v)
	b.Run("Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var w benchValue
			if err := c.Unmarshal(enc, &w); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Preludes from the network cannot keep later ones out of the pool: past
// maxPreludes, the prelude looked up least recently makes room, and one in
// use stays.
func TestPreludesPastTheBoundEvictTheLeastRecentlyUsed(t *testing.T) {
	c := Codec{}
	prelude := func(b []byte) string { return string(b[:len(b)-lastMessage(b)]) }
	pooled := func(p string) bool {
		decodersMu.Lock()
		defer decodersMu.Unlock()
		return decoders[p] != nil
	}
	roundTrip := func(v any) string {
		b, err := c.Marshal(v)
		require.NoError(t, err)
		require.NoError(t, c.Unmarshal(b, v))
		return prelude(b)
	}
	ours := roundTrip(&benchValue{Kind: "ours"})
	require.True(t, pooled(ours))
	var last string
	for i := range maxPreludes + 50 {
		// A stranger's type: a struct of one field whose name no other has.
		st := reflect.StructOf([]reflect.StructField{{Name: fmt.Sprintf("F%d", i), Type: reflect.TypeFor[int]()}})
		last = roundTrip(reflect.New(st).Interface())
		if i%32 == 0 {
			roundTrip(&benchValue{Kind: "ours"}) // in use all along
		}
	}
	decodersMu.Lock()
	n := len(decoders)
	decodersMu.Unlock()
	assert.LessOrEqual(t, n, maxPreludes)
	assert.True(t, pooled(last), "a new prelude was kept out of a full pool")
	assert.True(t, pooled(ours), "a prelude in use was evicted")
}
