package wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPreambleRoundTrip(t *testing.T) {
	b := AppendPreamble(nil, "msgpack")
	p, err := ReadPreamble(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, Preamble{Version: Version, MinVersion: MinVersion, Codec: "msgpack"}, p)

	later := Preamble{Version: 9, MinVersion: 4, Codec: "gob"}
	p, err = ReadPreamble(bytes.NewReader(later.Append(nil)))
	require.NoError(t, err)
	assert.Equal(t, later, p)
}

// TestPreambleOfVersion2 checks the promise to the nodes of version 2, which
// read "pwv" version len codec and refuse every version but 2: they read a
// preamble of this package whole, codec name included, as another version,
// and this package reads theirs as version 2 only.
func TestPreambleOfVersion2(t *testing.T) {
	b := AppendPreamble(nil, "gob")
	require.True(t, bytes.HasPrefix(b, []byte("pwv\x04\x03gob")), "%q", b)
	assert.NotEqual(t, byte(2), b[3], "a node of version 2 would take it for its own")

	v2 := []byte("pwv\x02\x03gob")
	r := bytes.NewReader(append(v2, 0, 0, 0, 1, byte(KindPing)))
	p, err := ReadPreamble(r)
	require.NoError(t, err)
	assert.Equal(t, Preamble{Version: 2, MinVersion: 2, Codec: "gob"}, p)
	assert.Equal(t, 5, r.Len(), "read past a version 2 preamble")
	assert.Equal(t, v2, p.Append(nil))
	_, ok := p.Common(Preamble{Version: Version, MinVersion: MinVersion})
	assert.False(t, ok, "version 2 is no longer spoken")
}

func TestPreamblesNegotiateTheHighestCommonVersion(t *testing.T) {
	for _, c := range []struct {
		a, b [2]uint8 // min, max
		want uint8    // 0: none
	}{
		{[2]uint8{3, 3}, [2]uint8{3, 3}, 3},
		{[2]uint8{3, 3}, [2]uint8{3, 4}, 3},
		{[2]uint8{3, 4}, [2]uint8{3, 4}, 4},
		{[2]uint8{3, 5}, [2]uint8{4, 9}, 5},
		{[2]uint8{3, 3}, [2]uint8{4, 5}, 0},
		{[2]uint8{2, 2}, [2]uint8{3, 3}, 0},
	} {
		a := Preamble{MinVersion: c.a[0], Version: c.a[1]}
		b := Preamble{MinVersion: c.b[0], Version: c.b[1]}
		for _, pair := range [][2]Preamble{{a, b}, {b, a}} {
			v, ok := pair[0].Common(pair[1])
			assert.Equal(t, c.want != 0, ok, "%v and %v", c.a, c.b)
			if ok {
				assert.Equal(t, c.want, v, "%v and %v", c.a, c.b)
			}
		}
	}
}

func TestReadPreambleRejectsStrangers(t *testing.T) {
	_, err := ReadPreamble(bytes.NewReader([]byte("GET / HTTP/1.1")))
	assert.ErrorIs(t, err, ErrBadMagic)
	_, err = ReadPreamble(bytes.NewReader([]byte("pwv\x01\xffgob")))
	assert.ErrorIs(t, err, ErrBadMagic, "a codec name over the limit")
	_, err = ReadPreamble(bytes.NewReader([]byte("pwv\x01\x05go")))
	assert.Error(t, err, "a truncated name")
	_, err = ReadPreamble(bytes.NewReader([]byte("pwv\x03\x03gob")))
	assert.Error(t, err, "a version 3 preamble without its lowest version")
	_, err = ReadPreamble(bytes.NewReader([]byte("pwv\x04\x03gob\x05")))
	assert.ErrorIs(t, err, ErrBadMagic, "a lowest version above the highest")
}

func TestParseHeaderUpToKnowsLaterKinds(t *testing.T) {
	h := AppendHeader(nil, KindLast+1, 3)
	_, _, err := ParseHeader(h, 100)
	assert.Error(t, err)
	k, size, err := ParseHeaderUpTo(h, 100, KindLast+1)
	require.NoError(t, err)
	assert.Equal(t, KindLast+1, k)
	assert.Equal(t, 3, size)
}

func TestHeaderRoundTrip(t *testing.T) {
	for _, k := range []Kind{KindData, KindHello, KindReject, KindPeers, KindAuth, KindFirst, KindMore, KindWindow, KindTags} {
		h := AppendHeader(nil, k, 1000)
		got, size, err := ParseHeader(h, 1000)
		require.NoError(t, err)
		assert.Equal(t, k, got)
		assert.Equal(t, 1000, size)
	}
	for _, k := range []Kind{KindWelcome, KindPing, KindPong, KindBye, KindByeAck} {
		got, size, err := ParseHeader(AppendHeader(nil, k, 0), 0)
		require.NoError(t, err)
		assert.Equal(t, k, got)
		assert.Zero(t, size)
	}
}

func TestParseHeaderRejectsBadFrames(t *testing.T) {
	for name, h := range map[string][]byte{
		"zero length":      {0, 0, 0, 0, byte(KindData)},
		"unknown kind":     {0, 0, 0, 1, 0},
		"kind past last":   {0, 0, 0, 1, byte(KindLast) + 1},
		"body on a ping":   {0, 0, 0, 2, byte(KindPing)},
		"over the limit":   AppendHeader(nil, KindData, 101),
		"4 GiB claimed":    {0xff, 0xff, 0xff, 0xff, byte(KindData)},
		"4 GiB of control": {0xff, 0xff, 0xff, 0xff, byte(KindPeers)},
	} {
		_, _, err := ParseHeader(h, 100)
		assert.Error(t, err, name)
	}
	_, _, err := ParseHeader(AppendHeader(nil, KindData, 101), 100)
	assert.True(t, errors.Is(err, ErrFrameTooLarge))
}

func TestProofsBindKeyRoleSessionAndTranscript(t *testing.T) {
	key, ekm, tr := ProofKey([]byte("secret")), []byte("session one"), []byte("preambles")
	p := Prove(key, RoleAcceptor, ekm, tr)
	assert.True(t, Verify(key, RoleAcceptor, ekm, tr, p))
	assert.False(t, Verify(ProofKey([]byte("guess")), RoleAcceptor, ekm, tr, p))
	assert.False(t, Verify(key, RoleDialler, ekm, tr, p), "a proof must not pass for the other role")
	assert.False(t, Verify(key, RoleAcceptor, []byte("session two"), tr, p), "nor on another TLS session")
	assert.False(t, Verify(key, RoleAcceptor, ekm, []byte("other preambles"), p), "nor for another transcript")
	// Length prefixes keep the fields apart.
	assert.NotEqual(t, Prove(key, RoleDialler, []byte("ab"), []byte("c")), Prove(key, RoleDialler, []byte("a"), []byte("bc")))
	assert.NotEqual(t, []byte("secret"), key)
}
