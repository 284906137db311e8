package gob

import "errors"

// errLength reports a gob message longer than the rest of its frame.
var errLength = errors.New("gob: message length exceeds the frame")

// check checks that frame is a run of whole gob messages: each an unsigned
// count, then that many bytes. So no message it holds claims more bytes than
// the frame has.
func check(frame []byte) error {
	for len(frame) > 0 {
		n, w := gobUint(frame)
		if w == 0 || n > uint64(len(frame)-w) {
			return errLength
		}
		frame = frame[w+int(n):]
	}
	return nil
}

// gobUint decodes a gob unsigned integer from the front of b: a byte below
// 128 is the value; otherwise the byte is minus the count of big-endian
// bytes that follow. It returns the value and the bytes read, 0 if b does
// not start with one.
func gobUint(b []byte) (uint64, int) {
	if b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	n := -int(int8(b[0]))
	if n > 8 || len(b) < 1+n {
		return 0, 0
	}
	var v uint64
	for _, c := range b[1 : 1+n] {
		v = v<<8 | uint64(c)
	}
	return v, 1 + n
}
