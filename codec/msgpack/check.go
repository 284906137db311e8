package msgpack

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// maxDepth is how deep arrays and maps may nest in a frame. A wire message
// nests two deep: a map of fields, one of which may be a list.
const maxDepth = 8

// errShort reports a frame that ends inside its message.
var errShort = errors.New("msgpack: frame ends inside the message")

// check walks the MessagePack value in frame without decoding it. It refuses
// a frame that does not hold exactly one value, that nests arrays and maps
// deeper than maxDepth, or whose lengths claim more than the frame holds: a
// string, byte string or extension more bytes than follow it, an array or map
// more elements than there are bytes left, as each takes at least one. So
// what msgpack allocates to decode a frame that passes is bounded by its
// size, and nothing it does recurses deeper than maxDepth.
func check(frame []byte) error { return checkNested(frame, maxDepth) }

// checkNested is check with arrays and maps nested at most limit deep, no
// more than maxValueDepth.
func checkNested(frame []byte, limit int) error {
	var stack [maxValueDepth + 1]int
	due := stack[:limit+1] // values still due at each depth
	due[0] = 1
	depth, i := 0, 0
	for {
		for due[depth] == 0 {
			if depth == 0 {
				if i < len(frame) {
					return fmt.Errorf("msgpack: %d bytes after the message", len(frame)-i)
				}
				return nil
			}
			depth--
		}
		due[depth]--
		n, payload, elems, err := header(frame[i:])
		if err != nil {
			return err
		}
		i += n
		left := uint64(len(frame) - i)
		if payload > left {
			return fmt.Errorf("msgpack: value of %d bytes in the %d bytes left", payload, left)
		}
		i += int(payload)
		if elems == 0 {
			continue
		}
		if elems > left {
			return fmt.Errorf("msgpack: %d elements in the %d bytes left", elems, left)
		}
		if depth == limit {
			return fmt.Errorf("msgpack: arrays or maps nested deeper than %d", limit)
		}
		depth++
		due[depth] = int(elems)
	}
}

// header reads the header of the value that b starts with. It returns the
// header's length n, and the bytes of payload or the elements (map keys and
// values counted apart) that follow it.
func header(b []byte) (n int, payload, elems uint64, err error) {
	if len(b) == 0 {
		return 0, 0, 0, errShort
	}
	c := b[0]
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3: // fixint, nil, bool
		return 1, 0, 0, nil
	case c <= 0x8f: // fixmap
		return 1, 0, 2 * uint64(c&0x0f), nil
	case c <= 0x9f: // fixarray
		return 1, 0, uint64(c & 0x0f), nil
	case c <= 0xbf: // fixstr
		return 1, uint64(c & 0x1f), 0, nil
	}
	if c == 0xc1 {
		return 0, 0, 0, errors.New("msgpack: type code 0xc1, which is never used")
	}
	f := forms[c-0xc4]
	n = 1 + f.size
	if len(b) < n {
		return 0, 0, 0, errShort
	}
	var length uint64
	switch f.size {
	case 1:
		length = uint64(b[1])
	case 2:
		length = uint64(binary.BigEndian.Uint16(b[1:]))
	case 4:
		length = uint64(binary.BigEndian.Uint32(b[1:]))
	}
	return n, f.fixed + length*f.bytes, length * f.elems, nil
}

// form says what follows a type code from 0xc4 on: size bytes of big-endian
// length (if any), then fixed bytes, then length times bytes of payload, and
// length times elems elements.
type form struct {
	size         int
	fixed, bytes uint64
	elems        uint64
}

var forms = [...]form{
	0xc4 - 0xc4: {size: 1, bytes: 1},           // bin 8
	0xc5 - 0xc4: {size: 2, bytes: 1},           // bin 16
	0xc6 - 0xc4: {size: 4, bytes: 1},           // bin 32
	0xc7 - 0xc4: {size: 1, fixed: 1, bytes: 1}, // ext 8: type, data
	0xc8 - 0xc4: {size: 2, fixed: 1, bytes: 1}, // ext 16
	0xc9 - 0xc4: {size: 4, fixed: 1, bytes: 1}, // ext 32
	0xca - 0xc4: {fixed: 4},                    // float 32
	0xcb - 0xc4: {fixed: 8},                    // float 64
	0xcc - 0xc4: {fixed: 1},                    // uint 8
	0xcd - 0xc4: {fixed: 2},                    // uint 16
	0xce - 0xc4: {fixed: 4},                    // uint 32
	0xcf - 0xc4: {fixed: 8},                    // uint 64
	0xd0 - 0xc4: {fixed: 1},                    // int 8
	0xd1 - 0xc4: {fixed: 2},                    // int 16
	0xd2 - 0xc4: {fixed: 4},                    // int 32
	0xd3 - 0xc4: {fixed: 8},                    // int 64
	0xd4 - 0xc4: {fixed: 2},                    // fixext 1: type, data
	0xd5 - 0xc4: {fixed: 3},                    // fixext 2
	0xd6 - 0xc4: {fixed: 5},                    // fixext 4
	0xd7 - 0xc4: {fixed: 9},                    // fixext 8
	0xd8 - 0xc4: {fixed: 17},                   // fixext 16
	0xd9 - 0xc4: {size: 1, bytes: 1},           // str 8
	0xda - 0xc4: {size: 2, bytes: 1},           // str 16
	0xdb - 0xc4: {size: 4, bytes: 1},           // str 32
	0xdc - 0xc4: {size: 2, elems: 1},           // array 16
	0xdd - 0xc4: {size: 4, elems: 1},           // array 32
	0xde - 0xc4: {size: 2, elems: 2},           // map 16
	0xdf - 0xc4: {size: 4, elems: 2},           // map 32
}
