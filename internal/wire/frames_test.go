package wire

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFrameBodiesRoundTrip(t *testing.T) {
	w, err := ParseWindow(Window{Increment: math.MaxUint32}.Append(nil))
	require.NoError(t, err)
	assert.Equal(t, Window{Increment: math.MaxUint32}, w)

	f, err := ParseFirst(First{Total: 1 << 24}.Append(nil))
	require.NoError(t, err)
	assert.Equal(t, First{Total: 1 << 24}, f)

	r, err := ParseRequest(Request{ID: math.MaxUint64}.Append(nil))
	require.NoError(t, err)
	assert.Equal(t, Request{ID: math.MaxUint64}, r)

	for _, status := range []byte{ReplyOK, ReplyError, ReplyNoHandler} {
		p, err := ParseReply(Reply{ID: 7, Status: status}.Append(nil))
		require.NoError(t, err)
		assert.Equal(t, Reply{ID: 7, Status: status}, p)
	}

	c, err := ParseCancel(Cancel{ID: 1}.Append(nil))
	require.NoError(t, err)
	assert.Equal(t, Cancel{ID: 1}, c)
}

// TestFrameBodiesHaveTheSizesThePackageDocumentsAndNoOther checks the sizes
// against the constants, and that a body one byte short or long fails.
func TestFrameBodiesHaveTheSizesThePackageDocumentsAndNoOther(t *testing.T) {
	for _, c := range []struct {
		body  []byte
		parse func([]byte) error
	}{
		{Window{}.Append(nil), func(b []byte) error { _, err := ParseWindow(b); return err }},
		{First{}.Append(nil), func(b []byte) error { _, err := ParseFirst(b); return err }},
		{Request{}.Append(nil), func(b []byte) error { _, err := ParseRequest(b); return err }},
		{Reply{}.Append(nil), func(b []byte) error { _, err := ParseReply(b); return err }},
		{Cancel{}.Append(nil), func(b []byte) error { _, err := ParseCancel(b); return err }},
	} {
		require.NoError(t, c.parse(c.body))
		assert.Error(t, c.parse(c.body[1:]), "%d bytes", len(c.body)-1)
		assert.Error(t, c.parse(append(c.body, 0)), "%d bytes", len(c.body)+1)
	}
	assert.Len(t, Window{}.Append(nil), WindowSize)
	assert.Len(t, First{}.Append(nil), FirstSize)
	assert.Len(t, Request{}.Append(nil), RequestSize)
	assert.Len(t, Reply{}.Append(nil), ReplySize)
	assert.Len(t, Cancel{}.Append(nil), RequestSize)
}

func TestParseReplyRejectsAnUnknownStatus(t *testing.T) {
	_, err := ParseReply(Reply{ID: 1, Status: ReplyNoHandler + 1}.Append(nil))
	assert.Error(t, err)
}

func TestHeaderOfReadsWhatAppendHeaderWrote(t *testing.T) {
	for _, h := range []Header{{KindData, 0}, {KindFirst, FirstSize + MaxFragment}, {KindPing, 0}, {KindReply, ReplySize}} {
		assert.Equal(t, h, HeaderOf(AppendHeader(nil, h.Kind, h.Size)))
	}
}
