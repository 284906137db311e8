package cluster

import (
	"errors"
	"io"
	"net"
	"os"

	"github.com/peerweave/peerweave/internal/link"
	"github.com/peerweave/peerweave/internal/wire"
)

// How the errors that end connections and handshakes are classified into
// the causes of errors.go.

// sentinel is an error that also matches a broader one: a cause that is a
// timeout matches ErrTimeout, a refusal for a reason of its own
// ErrRejected.
type sentinel struct {
	msg  string
	also error
}

func (s *sentinel) Error() string            { return s.msg }
func (s *sentinel) Is(target error) bool     { return target == s.also }
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
	case link.IsTimeout(err) && errors.As(err, &we):
		return because(ErrWriteStalled, err)
	case link.IsTimeout(err):
		return because(ErrSilence, err)
	}
	return because(ErrConnLost, err)
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

// refused reports whether err says that the acceptor refused the
// connection (a proof that failed, no version in common, a verdict): it did
// not take it, so there is nothing to redial after a cut.
func refused(err error) bool {
	return errors.Is(err, ErrAuth) || errors.Is(err, ErrIncompatible) || errors.Is(err, ErrRejected)
}
