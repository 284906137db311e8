package cluster

import "sync/atomic"

// nodeState is where a node is in its life. It only moves forward:
//
//	         Close                  every goroutine returned
//	open ──────────────▶ closing ──────────────────────────▶ closed
//	admits, dials,       admits nothing, dials and           Inbox is closed;
//	registers            redials nothing; says goodbye       callbacks finish
//
// The state answers "may the node admit, dial or register now?"; the node's
// context, cancelled as it leaves open, cancels the work under way.
type nodeState uint32

const (
	nodeOpen nodeState = iota
	nodeClosing
	nodeClosed
)

// stateVar holds a nodeState: changed under the node lock, read without it.
type stateVar struct{ v atomic.Uint32 }

func (s *stateVar) get() nodeState  { return nodeState(s.v.Load()) }
func (s *stateVar) set(v nodeState) { s.v.Store(uint32(v)) }

// closing reports whether the node has left the open state: it admits,
// dials and registers nothing any more.
func (n *Node) closing() bool { return n.state.get() != nodeOpen }
