package cluster_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/codec"
	"github.com/peerweave/peerweave/codec/gob"
)

type order struct {
	Item  string
	Count int
	Notes []string
}

type receipt struct {
	Item  string
	Total int
}

func TestTypedValuesCrossInTheNodesCodec(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		shop := cluster.HandleValue(func(_ context.Context, _ cluster.Remote, o order) (receipt, error) {
			return receipt{Item: o.Item, Total: 3 * o.Count}, nil
		})
		a, b := h.node(), h.node(cluster.WithRequestHandler(shop))
		mesh(t, a, b)

		sent := order{Item: "tea", Count: 2, Notes: []string{"green", ""}}
		require.NoError(t, cluster.SendValue(a, remote(b), sent))
		got, err := cluster.Decode[order](b, receive(t, b).Payload)
		require.NoError(t, err)
		assert.Equal(t, sent, got)

		r, err := cluster.RequestValue[receipt](testContext(t), a, remote(b), sent)
		require.NoError(t, err)
		assert.Equal(t, receipt{Item: "tea", Total: 6}, r)

		// The payload is the encoding of the stack's codec.
		enc, err := cluster.Marshal(a, sent)
		require.NoError(t, err)
		var direct order
		require.NoError(t, h.stack.codec.(codec.Values).Unmarshal(enc, &direct))
		assert.Equal(t, sent, direct)
	})
}

func TestTypedValueErrorsAreDistinct(t *testing.T) {
	forEachStack(t, func(t *testing.T, h *harness) {
		shop := cluster.HandleValue(func(_ context.Context, _ cluster.Remote, o order) (receipt, error) {
			return receipt{Item: o.Item}, nil
		})
		a, b := h.node(), h.node(cluster.WithRequestHandler(shop))
		mesh(t, a, b)
		ctx := testContext(t)

		assert.ErrorIs(t, cluster.SendValue(a, remote(b), func() {}), cluster.ErrEncode)
		_, err := cluster.RequestValue[receipt](ctx, a, remote(b), make(chan int))
		assert.ErrorIs(t, err, cluster.ErrEncode)

		require.NoError(t, cluster.SendValue(a, remote(b), "not a number"))
		_, err = cluster.Decode[int](b, receive(t, b).Payload)
		assert.ErrorIs(t, err, cluster.ErrDecode)
		_, err = cluster.Decode[order](b, []byte("garbage"))
		assert.ErrorIs(t, err, cluster.ErrDecode)

		// The reply does not fit the type asked for.
		_, err = cluster.RequestValue[[]float64](ctx, a, remote(b), order{Item: "tea"})
		assert.ErrorIs(t, err, cluster.ErrDecode)

		// The request does not fit the handler's type: the remote says so.
		_, err = cluster.RequestValue[receipt](ctx, a, remote(b), 42)
		var re *cluster.RemoteError
		require.ErrorAs(t, err, &re)
		assert.Contains(t, re.Text, cluster.ErrDecode.Error())
	})
}

// opaque is a codec that encodes no values: gob with its Marshal and
// Unmarshal hidden.
type opaque struct{ cluster.Codec }

func TestTypedFunctionsNeedACodecWithValues(t *testing.T) {
	t.Parallel()
	h := newHarness(t, stacks[0])
	a := h.node(cluster.WithCodec(opaque{gob.Codec{}}))
	_, err := cluster.Marshal(a, 1)
	assert.ErrorIs(t, err, cluster.ErrNoValues)
	_, err = cluster.Decode[int](a, []byte{1})
	assert.ErrorIs(t, err, cluster.ErrNoValues)
}
