package gob

import (
	"bytes"
	"encoding/gob"
	"fmt"
)

// Marshal encodes v as a gob stream of its own: its type information, then
// the value. It implements codec.Values.
func (Codec) Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Unmarshal decodes b, a value encoded by Marshal, into v. It implements
// codec.Values. As for control messages, it refuses an encoding whose gob
// messages claim more bytes than it holds before encoding/gob sees it.
func (Codec) Unmarshal(b []byte, v any) error {
	if err := check(b); err != nil {
		return err
	}
	r := bytes.NewReader(b)
	if err := gob.NewDecoder(r).Decode(v); err != nil {
		return err
	}
	if n := r.Len(); n != 0 {
		return fmt.Errorf("gob: %d bytes after the value", n)
	}
	return nil
}
