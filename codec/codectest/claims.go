package codectest

import (
	"fmt"
	"slices"
)

// claim is what checkClaims puts after a byte: read as a big-endian length
// of 1 to 4 bytes it is the largest there is, and read as a varint it is
// about 2^32 (or more, counting the byte before).
var claim = []byte{0xff, 0xff, 0xff, 0xff, 0x0f}

// checkClaims feeds Decode tiny frames that claim huge lengths, and requires
// it to stay within the allocation bound: a node gives a decoder frames of up
// to 16 MiB, but a 6-byte frame that announces 2^31 strings or a 4 GiB byte
// string must not cost more than a 6-byte frame. Not knowing the codec's
// format, it cuts each message at every byte, writes there each possible
// byte (a type code, say) and then the claim: so every length field of the
// format, in every place a message has one, gets to claim too much.
func (s *suite) checkClaims() error {
	return s.mangle(compact, func(p position) error {
		for n := range len(p.f.body) + 1 {
			for b := range 256 {
				f := frame{body: slices.Concat(p.f.body[:n], []byte{byte(b)}, claim), typ: p.f.typ}
				if _, err := s.after(p.prefix, f); err != nil {
					return fmt.Errorf("claim at byte %d: %w", n, err)
				}
			}
		}
		return nil
	})
}
