package msgpack

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckTakesOneWholeValue(t *testing.T) {
	for _, frame := range []string{
		"\xc0", "\xc2", "\x00", "\x7f", "\xe0", "\xff",
		"\x80", "\x90", "\xa0", "\xa3abc", "\xd9\x03abc", "\xda\x00\x03abc", "\xdb\x00\x00\x00\x03abc",
		"\xc4\x02ab", "\xc5\x00\x02ab", "\xc6\x00\x00\x00\x02ab",
		"\xc7\x01\x05a", "\xc8\x00\x01\x05a", "\xc9\x00\x00\x00\x01\x05a",
		"\xd4\x05a", "\xd8\x05" + strings.Repeat("a", 16),
		"\xcc\x01", "\xcd\x01\x02", "\xce\x01\x02\x03\x04", "\xcf" + strings.Repeat("\x01", 8),
		"\xd3" + strings.Repeat("\x01", 8), "\xca\x00\x00\x00\x00", "\xcb" + strings.Repeat("\x00", 8),
		"\x92\x01\xa1a", "\xdc\x00\x02\x01\x02", "\xdd\x00\x00\x00\x01\xc0",
		"\x82\xa1a\x01\xa1b\x92\xc3\xc2", "\xde\x00\x01\x01\x02", "\xdf\x00\x00\x00\x01\x01\x02",
		strings.Repeat("\x91", maxDepth) + "\xc0",
	} {
		assert.NoError(t, check([]byte(frame)), "%x", frame)
	}
}

func TestCheckRefuses(t *testing.T) {
	for _, c := range []struct{ frame, err string }{
		{"", "ends inside"},
		{"\xc1", "0xc1"},
		{"\x01\x02", "1 bytes after the message"},
		{"\xa3ab", "value of 3 bytes in the 2 bytes left"},
		{"\xd9", "ends inside"},
		{"\x82\xa1a\x01\xa1b", "ends inside"},
		{"\xcd\x01", "value of 2 bytes in the 1 bytes left"},
		{"\x92\x01", "2 elements in the 1 bytes left"},
		{"\xc6\xff\xff\xff\xff", "value of 4294967295 bytes in the 0 bytes left"},
		{"\xdb\xff\xff\xff\xff\x0f", "value of 4294967295 bytes in the 1 bytes left"},
		{"\xc9\xff\xff\xff\xff", "value of 4294967296 bytes"},
		{"\xdd\x80\x00\x00\x00\xa0", "2147483648 elements in the 1 bytes left"},
		{"\xdf\x00\x00\x00\x01\x01", "2 elements in the 1 bytes left"},
		{"\x91\xdc\xff\xff", "65535 elements in the 0 bytes left"},
		{strings.Repeat("\x91", maxDepth+1) + "\xc0", "nested deeper than 8"},
	} {
		assert.ErrorContains(t, check([]byte(c.frame)), c.err, "%x", c.frame)
	}
}
