package cluster

import (
	"errors"
	"io"
	"net"
	"os"

	"github.com/peerweave/peerweave/internal/wire"
)

// Causes of a remote's removal, in the Err of an EventRemoved and in
// RemoteStats.LastError, and of failed handshakes. Each fault that package
// transport/fault injects shows as one of them: a black hole or a one-way
// cut as ErrSilence on the side that hears nothing (and ErrWriteStalled or
// ErrSilence on the other), a delay or a shaped link too slow for the
// network timeout as ErrWriteStalled, a broken connection as ErrConnLost.
var (
	// ErrSilence: the remote sent nothing, not even the answer to a health
	// check, for the healthy interval plus the network timeout. It matches
	// ErrTimeout too.
	ErrSilence error = &sentinel{"cluster: remote silent", true}

	// ErrWriteStalled: a write to the remote made no progress for the
	// network timeout. It matches ErrTimeout too.
	ErrWriteStalled error = &sentinel{"cluster: write to remote stalled", true}

	// ErrConnLost: the connection was closed or reset by the remote or the
	// network, without a goodbye.
	ErrConnLost = errors.New("cluster: connection lost")

	// ErrProtocol: the remote sent what the protocol does not allow, such
	// as garbage or a frame over the size limit. Handshakes that fail with
	// ErrIncompatible match it too.
	ErrProtocol = errors.New("cluster: protocol violation")

	// ErrLocalLeave: this node said goodbye to the remote (CloseRemote or
	// Close). It is not redialled.
	ErrLocalLeave = errors.New("cluster: left the remote")

	// ErrRemoteLeave: the remote said goodbye. It is not redialled.
	ErrRemoteLeave = errors.New("cluster: remote left")

	// ErrReplaced: a new instance of the remote, restarted on the same
	// address, connected and took its place.
	ErrReplaced = errors.New("cluster: remote replaced by a new instance")
)

// sentinel is a cause that may also match ErrTimeout.
type sentinel struct {
	msg     string
	timeout bool
}

func (s *sentinel) Error() string            { return s.msg }
func (s *sentinel) Is(target error) bool     { return s.timeout && target == ErrTimeout }
func (e protocolError) Is(target error) bool { return target == ErrProtocol }

// Is makes a refusal match ErrAuth, or ErrRejected and, for an identity
// refusal, ErrLabelMismatch or ErrNameConflict.
func (r refusal) Is(target error) bool {
	switch r.code {
	case wire.RejectAuth:
		return target == ErrAuth
	case wire.RejectLabel:
		return target == ErrRejected || target == ErrLabelMismatch
	case wire.RejectName:
		return target == ErrRejected || target == ErrNameConflict
	}
	return target == ErrRejected
}

// causedError is err, classified: it matches cause as well as err.
type causedError struct{ cause, err error }

func (e *causedError) Error() string   { return e.cause.Error() + ": " + e.err.Error() }
func (e *causedError) Unwrap() []error { return []error{e.cause, e.err} }

func because(cause, err error) error { return &causedError{cause, err} }

// detail returns the error that err classifies, for the logs, which say
// what happened as they always did.
func detail(err error) error {
	if c, ok := err.(*causedError); ok {
		return c.err
	}
	return err
}

// writeError is a failed write to a live connection.
type writeError struct{ err error }

func (e writeError) Error() string { return "write: " + e.err.Error() }
func (e writeError) Unwrap() error { return e.err }

// lostCause classifies the error that ended a live connection without a
// goodbye.
func lostCause(err error) error {
	var we writeError
	switch {
	case errors.Is(err, ErrProtocol):
		return because(ErrProtocol, err)
	case isTimeout(err) && errors.As(err, &we):
		return because(ErrWriteStalled, err)
	case isTimeout(err):
		return because(ErrSilence, err)
	}
	return because(ErrConnLost, err)
}

// isTimeout reports whether err is a deadline that passed, as a transport
// reports it.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// handshakeCause classifies the error that ended a handshake, unless it
// says already.
func handshakeCause(err error) error {
	for _, known := range []error{ErrIncompatible, ErrAuth, ErrRejected, ErrProtocol, ErrTimeout} {
		if errors.Is(err, known) {
			return err
		}
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return because(ErrTimeout, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return because(ErrConnLost, err)
	}
	return err
}
