package cluster

import (
	"context"
	"errors"
	"fmt"
)

// The errors of this package, in one place. Callers test for them with
// errors.Is (and for *RemoteError with errors.As): the package wraps them
// with what failed, never returns them bare where it can say more.

// Errors of a node's calls.
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
)

// Errors of a handshake, returned by Add.
var (
	// ErrIncompatible is returned by Add when the remote speaks no protocol
	// version that this node speaks, or another codec, or is not a
	// peerweave node at all.
	ErrIncompatible = errors.New("cluster: incompatible peer")

	// ErrAuth is returned by Add when the remote and this node do not share
	// the same secret (see WithSecret), or only one of them has one. A
	// connection whose TLS session fails its checks (bytes altered,
	// injected or replayed on the way) ends with an error that matches it.
	ErrAuth = errors.New("cluster: authentication failed")

	// ErrShortSecret is returned by NewNode and SetSecrets for a secret
	// shorter than MinSecretSize bytes.
	ErrShortSecret = errors.New("cluster: secret shorter than 32 bytes")

	// ErrRejected is returned by Add when the remote refuses the connection,
	// for example because it is shutting down. ErrLabelMismatch and
	// ErrNameConflict match it too.
	ErrRejected = errors.New("cluster: connection rejected")

	// ErrLabelMismatch is returned by Add when the remote belongs to a
	// cluster of another label (see WithLabel). It matches ErrRejected.
	ErrLabelMismatch error = &sentinel{"cluster: cluster label mismatch", ErrRejected}

	// ErrNameConflict is returned by Add when the remote, or one of the
	// remotes it is connected to, is another live node of the same name
	// (see WithName). It matches ErrRejected.
	ErrNameConflict error = &sentinel{"cluster: node name in use", ErrRejected}

	// ErrBusy is the cause, in an EventHandshakeFailed, of a connection
	// that the node closed before its handshake because too many others
	// from strangers were running or waiting (see Limits in the package
	// doc). It matches ErrRejected, and ErrTimeout too for one that waited
	// for the handshake timeout. A dialler sees its connection closed.
	ErrBusy error = busyError{}
)

// ErrTagsTooLarge is returned by SetTags, and by NewNode for WithTags, when
// the tags exceed the node's tags limit (see WithMaxTagsSize).
var ErrTagsTooLarge = errors.New("cluster: tags too large")

// Causes of a remote's removal, in the Err of an EventRemoved and in
// RemoteStats.LastError, and of failed handshakes. Each fault that package
// transport/fault injects shows as one of them: a black hole or a one-way
// cut as ErrSilence on the side that hears nothing (and ErrWriteStalled or
// ErrSilence on the other), a delay or a shaped link too slow for the
// network timeout as ErrWriteStalled, a broken connection as ErrConnLost.
// causes.go classifies what ended a connection.
var (
	// ErrSilence: the remote sent nothing, not even the answer to a health
	// check, for the healthy interval plus the network timeout. It matches
	// ErrTimeout too.
	ErrSilence error = &sentinel{"cluster: remote silent", ErrTimeout}

	// ErrWriteStalled: a write to the remote made no progress for the
	// network timeout. It matches ErrTimeout too.
	ErrWriteStalled error = &sentinel{"cluster: write to remote stalled", ErrTimeout}

	// ErrConnLost: the connection was closed or reset by the remote or the
	// network, without a goodbye.
	ErrConnLost = errors.New("cluster: connection lost")

	// ErrProtocol: the remote sent what the protocol does not allow, such
	// as garbage or a frame over the size limit, or held room in the
	// node's budget for fragmented payloads while sending too slowly (see
	// Limits in the package doc). Handshakes that fail with
	// ErrIncompatible match it too.
	ErrProtocol = errors.New("cluster: protocol violation")

	// ErrLocalLeave: this node said goodbye to the remote (CloseRemote or
	// Close). It is not redialled.
	ErrLocalLeave = errors.New("cluster: left the remote")

	// ErrRemoteLeave: the remote said goodbye. It is not redialled. A
	// request to it that was waiting for its answer fails with
	// ErrRemoteLeft.
	ErrRemoteLeave = errors.New("cluster: remote said goodbye")

	// ErrReplaced: a new instance of the remote, restarted on the same
	// address, connected and took its place.
	ErrReplaced = errors.New("cluster: remote replaced by a new instance")
)

// ErrStalled: the remote's window has stayed shut, with data waiting for
// it, for two healthy intervals plus the network timeout while it answered
// health checks, so the node suspended it (see Backpressure in the package doc). It is the Err of an
// EventSuspended; until the remote's window opens again, Request and Query
// to it fail with it at once, the requests that wait for its answer fail
// with it, and so does Broadcast for it when its queue is full. The remote
// stays connected, and Send to it waits for room as before. It matches
// ErrTimeout too.
var ErrStalled error = &sentinel{"cluster: remote's window stayed shut", ErrTimeout}

// Errors of requests and queries, besides ErrClosed, ErrUnknownRemote,
// ErrMessageTooLarge, ErrTimeout and the context's error.
var (
	// ErrRemoteLeft is returned by Request, and given in a query's Answer,
	// when the remote left gracefully (it closed, or called CloseRemote
	// with this node), or this node called CloseRemote with it, before it
	// answered. The removal's own cause is ErrRemoteLeave or
	// ErrLocalLeave.
	ErrRemoteLeft = errors.New("cluster: remote left before answering")

	// ErrRemoteLost is returned by Request, and given in a query's Answer,
	// when the remote was removed ungracefully (its connection broke or
	// it stopped answering health checks) before it answered.
	ErrRemoteLost = errors.New("cluster: remote lost before answering")

	// ErrNoHandler is returned by Request, and given in a query's Answer,
	// when the remote has no request handler: it answers at once, so the
	// caller does not wait for its context.
	ErrNoHandler = errors.New("cluster: remote has no request handler")
)

// RemoteError is the error of a request that the remote's handler answered
// with an error: Text is what the error said there.
type RemoteError struct {
	Remote Remote
	Text   string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("cluster: remote %s answered: %s", e.Remote, e.Text)
}

// Errors of typed values.
var (
	// ErrEncode is returned when the node's codec cannot encode a value,
	// such as a func or a channel.
	ErrEncode = errors.New("cluster: cannot encode value")

	// ErrDecode is returned when a payload does not decode into the type
	// asked for.
	ErrDecode = errors.New("cluster: cannot decode value")

	// ErrNoValues is returned by the typed functions on a node whose codec
	// does not implement codec.Values.
	ErrNoValues = errors.New("cluster: codec does not encode values")
)

// ctxErr is the error of a call whose context ended, by the one rule of the
// package's context-taking calls: it matches, with errors.Is, both the
// context's error (context.Canceled or context.DeadlineExceeded) and its
// cause (context.Cause), when the cause is another error.
func ctxErr(ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause == nil || cause == err {
		return err
	}
	return fmt.Errorf("%w: %w", err, cause)
}
