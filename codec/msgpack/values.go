package msgpack

import (
	"bytes"

	"github.com/vmihailenco/msgpack/v5"
)

// maxValueDepth is how deep arrays and maps may nest in a value that
// Unmarshal decodes.
const maxValueDepth = 64

// Marshal encodes v as one MessagePack value, structs as maps from field
// name to value. It implements codec.Values.
func (Codec) Marshal(v any) ([]byte, error) {
	var b appender
	enc := msgpack.NewEncoder(&b)
	enc.UseCompactInts(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b, nil
}

// Unmarshal decodes b, exactly one MessagePack value, into v. It implements
// codec.Values. As for control messages, it walks b first and refuses it
// unless every length fits in the bytes that follow, so what it allocates
// is bounded by len(b); and it refuses a map that sets a field v's struct
// does not have, rather than drop that field silently. As with
// encoding/json, a value refused part way may hold the fields decoded
// before the error: use v only if Unmarshal returns nil.
func (Codec) Unmarshal(b []byte, v any) error {
	if err := checkNested(b, maxValueDepth); err != nil {
		return err
	}
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields(true)
	return dec.Decode(v)
}
