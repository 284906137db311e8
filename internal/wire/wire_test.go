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
	assert.Equal(t, Preamble{Version: Version, Codec: "msgpack"}, p)
}

func TestReadPreambleRejectsStrangers(t *testing.T) {
	_, err := ReadPreamble(bytes.NewReader([]byte("GET / HTTP/1.1")))
	assert.ErrorIs(t, err, ErrBadMagic)
	_, err = ReadPreamble(bytes.NewReader([]byte("pwv\x01\xffgob")))
	assert.ErrorIs(t, err, ErrBadMagic, "a codec name over the limit")
	_, err = ReadPreamble(bytes.NewReader([]byte("pwv\x01\x05go")))
	assert.Error(t, err, "a truncated name")
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

func TestProofsBindSecretRoleAndChallenges(t *testing.T) {
	secret, d, a := []byte("secret"), []byte("dialler challenge"), []byte("acceptor challenge")
	p := Prove(secret, RoleAcceptor, d, a)
	assert.True(t, Verify(secret, RoleAcceptor, d, a, p))
	assert.False(t, Verify([]byte("guess"), RoleAcceptor, d, a, p))
	assert.False(t, Verify(secret, RoleDialler, d, a, p), "a proof must not pass for the other role")
	assert.False(t, Verify(secret, RoleAcceptor, a, d, p), "nor for swapped challenges")
	// Length prefixes keep challenge boundaries apart.
	assert.NotEqual(t, Prove(secret, RoleDialler, []byte("ab"), []byte("c")), Prove(secret, RoleDialler, []byte("a"), []byte("bc")))
}
