package codectest

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/peerweave/peerweave/codec"
)

// valueSample is an application value of the kinds a node's users send.
type valueSample struct {
	Name  string
	Count int64
	Ratio float64
	Tags  []string
	Attrs map[string]int
	Inner *valueInner
	Raw   []byte
}

type valueInner struct {
	OK   bool
	List []uint32
}

// otherValue shares no field with valueSample.
type otherValue struct {
	Elsewhere string
}

// checkValues requires of a codec that implements codec.Values that values
// of several kinds come back as they were, each encoding on its own; that
// what it cannot encode, a value that does not fit, and a broken encoding
// are errors; and that a decoded value does not alias its encoding.
func (s *suite) checkValues() error {
	vc, ok := s.codec.(codec.Values)
	if !ok {
		return nil
	}
	full := &valueSample{
		Name: "a", Count: -42, Ratio: 0.5, Tags: []string{"x", "", "y"},
		Attrs: map[string]int{"one": 1, "two": 2}, Inner: &valueInner{OK: true, List: []uint32{1, 1 << 31}},
		Raw: []byte{0, 1, 2},
	}
	samples := []any{full, ptr("text"), ptr(int64(-7)), ptr([]string{"a", "b"}), ptr(map[string]string{"k": "v"})}
	var errs []error
	for _, v := range samples {
		b, err := vc.Marshal(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("Marshal(%T): %w", v, err))
			continue
		}
		got := reflect.New(reflect.TypeOf(v).Elem())
		if err := vc.Unmarshal(b, got.Interface()); err != nil {
			errs = append(errs, fmt.Errorf("Unmarshal of a %T: %w", v, err))
			continue
		}
		if !reflect.DeepEqual(v, got.Interface()) {
			errs = append(errs, fmt.Errorf("%T: sent %+v, received %+v", v, v, got.Elem().Interface()))
		}
		for i := range b {
			b[i] = 0xff
		}
		if !reflect.DeepEqual(v, got.Interface()) {
			errs = append(errs, fmt.Errorf("%T: the value aliases its encoding", v))
		}
	}
	for _, v := range []any{func() {}, make(chan int)} {
		if _, err := vc.Marshal(v); err == nil {
			errs = append(errs, fmt.Errorf("Marshal(%T) succeeded", v))
		}
	}
	b, err := vc.Marshal(full)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	var n int64
	var other otherValue
	for name, dst := range map[string]any{"an integer": &n, "a struct with no field in common": &other} {
		if err := vc.Unmarshal(b, dst); err == nil {
			errs = append(errs, fmt.Errorf("a struct decoded into %s", name))
		}
	}
	for i := range len(b) {
		if err := s.unmarshalSafely(vc, b[:i]); err == nil {
			errs = append(errs, fmt.Errorf("Unmarshal of the first %d of %d bytes succeeded", i, len(b)))
			break
		}
	}
	if err := s.unmarshalSafely(vc, append(b[:len(b):len(b)], 0)); err == nil {
		errs = append(errs, errors.New("Unmarshal of an encoding with a byte after it succeeded"))
	}
	return errors.Join(errs...)
}

// unmarshalSafely decodes b into a valueSample, turning a panic into an
// error.
func (s *suite) unmarshalSafely(vc codec.Values, b []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	var v valueSample
	return vc.Unmarshal(b, &v)
}

func ptr[T any](v T) *T { return &v }
