package cluster

import (
	"context"
	"fmt"
)

// Wait blocks until ready reports true for the node's remotes, sorted by
// address as Remotes returns them, and returns nil. It calls ready at once
// and again after every change of membership, on the calling goroutine, so
// ready must not block. It fails with the context's error if ctx ends first,
// and with ErrClosed once the node closes.
//
// To wait until two remotes are connected:
//
//	err := n.Wait(ctx, func(rs []cluster.Remote) bool {
//		return slices.ContainsFunc(rs, a.Equal) && slices.ContainsFunc(rs, b.Equal)
//	})
func (n *Node) Wait(ctx context.Context, ready func(rs []Remote) bool) error {
	if err := n.waitUntil(ctx, func() bool { return ready(n.Remotes()) }); err != nil {
		return fmt.Errorf("cluster: wait: %w", err)
	}
	return nil
}

// WaitMesh blocks until the node has joined every node it has heard of: each
// remote it joined, or that joined it, has sent its peer list, and every
// address in those lists is a remote or failed to connect. After b.Add(a)
// returns, b.WaitMesh returns once b is connected to every remote a had, so
// that b can send to all of them.
//
// It fails with the context's error if ctx ends first, and with ErrClosed once
// the node closes. An address that failed to connect, after two more tries
// if it timed out, is not retried for WaitMesh: see Remotes for whom the node
// reached. Nor does it wait for an address skipped because 65,536 peer-list
// addresses were waiting to be dialled; a later peer list that names it
// brings it back. And it waits only for the lists of join connections (see
// Scale in the package documentation): if b was already connected to a
// through a connection dialled from a peer list when b.Add(a) was called,
// or b's Add joined such a dial under way, a sends b no list of its own,
// and the nodes that introduced them introduce b to the rest after WaitMesh
// may have returned; use Wait for the remotes you need.
func (n *Node) WaitMesh(ctx context.Context) error {
	err := n.waitUntil(ctx, n.meshed)
	if err != nil {
		return fmt.Errorf("cluster: wait for the mesh: %w", err)
	}
	return nil
}

// waitUntil returns once done reports true, calling it at once and after
// every change the node notifies, without the node lock held. It fails with
// ErrClosed once the node is closing, and with ctxErr(ctx) if ctx ends first.
func (n *Node) waitUntil(ctx context.Context, done func() bool) error {
	for {
		changed, closing := n.watch()
		if closing {
			return ErrClosed
		}
		if done() {
			// Close may have begun since we looked, and emptied the node
			// that done found ready: a closed node is never ready.
			if n.closing() {
				return ErrClosed
			}
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctxErr(ctx)
		case <-n.ctx.Done():
		}
	}
}
