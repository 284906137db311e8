package cluster

import "errors"

// Errors that callers may test for with errors.Is.
var (
	// ErrClosed is returned by operations on a node that has been closed.
	ErrClosed = errors.New("cluster: node closed")

	// ErrUnknownRemote is returned by Send for a remote the node is not (or
	// no longer) connected to.
	ErrUnknownRemote = errors.New("cluster: unknown remote")

	// ErrMessageTooLarge is returned by Send for a payload over the node's
	// maximum message size (see WithMaxMessageSize).
	ErrMessageTooLarge = errors.New("cluster: message too large")

	// ErrTimeout is returned when a blocking call runs past the node's
	// network timeout (see SetNetworkTimeout).
	ErrTimeout = errors.New("cluster: timeout")

	// ErrIncompatible is returned by Add when the remote speaks no protocol
	// version that this node speaks, or another codec, or is not a
	// peerweave node at all.
	ErrIncompatible = errors.New("cluster: incompatible peer")

	// ErrAuth is returned by Add when the remote and this node do not share
	// the same secret (see WithSecret), or only one of them has one.
	ErrAuth = errors.New("cluster: authentication failed")

	// ErrRejected is returned by Add when the remote refuses the connection,
	// for example because it is shutting down.
	ErrRejected = errors.New("cluster: connection rejected")
)
