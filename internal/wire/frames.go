package wire

import (
	"encoding/binary"
	"fmt"
)

// The frame bodies that are not codec-encoded, one type each, with the
// Append that writes it and the Parse that reads it: the only code that
// knows their layout. A Parse takes a body of exactly the frame's size (a
// First's, the length field at its start) and fails on any other, so that a
// receiver need not check sizes of its own.

// FirstSize is the size of the length field at the start of a First
// frame's body.
const FirstSize = 4

// Header is a frame header: the kind of the frame and the size of its body.
type Header struct {
	Kind Kind
	Size int
}

// HeaderOf returns the header at the start of h, a frame this side wrote,
// without the checks of ParseHeader: h must hold HeaderSize bytes of a
// header that AppendHeader or PutHeader wrote.
func HeaderOf(h []byte) Header {
	return Header{Kind: Kind(h[4]), Size: int(binary.BigEndian.Uint32(h)) - 1}
}

// Window is the body of a Window frame: the receiver opens the window it
// grants by Increment bytes.
type Window struct{ Increment uint32 }

// Append appends the body to b.
func (f Window) Append(b []byte) []byte { return binary.BigEndian.AppendUint32(b, f.Increment) }

// ParseWindow reads a Window frame's body.
func ParseWindow(b []byte) (Window, error) {
	if len(b) != WindowSize {
		return Window{}, sizeError(KindWindow, len(b))
	}
	return Window{Increment: binary.BigEndian.Uint32(b)}, nil
}

// First is the start of a First frame's body, before its fragment: the
// length of the whole payload.
type First struct{ Total uint32 }

// Append appends the length field to b.
func (f First) Append(b []byte) []byte { return binary.BigEndian.AppendUint32(b, f.Total) }

// ParseFirst reads the length field of a First frame, the body's first
// FirstSize bytes.
func ParseFirst(b []byte) (First, error) {
	if len(b) != FirstSize {
		return First{}, sizeError(KindFirst, len(b))
	}
	return First{Total: binary.BigEndian.Uint32(b)}, nil
}

// Request is the body of a Request frame: the id of the request whose body
// the next payload is.
type Request struct{ ID uint64 }

// Append appends the body to b.
func (f Request) Append(b []byte) []byte { return binary.BigEndian.AppendUint64(b, f.ID) }

// ParseRequest reads a Request frame's body.
func ParseRequest(b []byte) (Request, error) {
	if len(b) != RequestSize {
		return Request{}, sizeError(KindRequest, len(b))
	}
	return Request{ID: binary.BigEndian.Uint64(b)}, nil
}

// Reply is the body of a Reply frame: the id of the request whose answer
// the next payload is, and its status (ReplyOK, ReplyError or
// ReplyNoHandler).
type Reply struct {
	ID     uint64
	Status byte
}

// Append appends the body to b.
func (f Reply) Append(b []byte) []byte {
	return append(binary.BigEndian.AppendUint64(b, f.ID), f.Status)
}

// ParseReply reads a Reply frame's body. It rejects a status this version
// does not know.
func ParseReply(b []byte) (Reply, error) {
	if len(b) != ReplySize {
		return Reply{}, sizeError(KindReply, len(b))
	}
	r := Reply{ID: binary.BigEndian.Uint64(b), Status: b[RequestSize]}
	if r.Status > ReplyNoHandler {
		return Reply{}, fmt.Errorf("wire: reply of status %d", r.Status)
	}
	return r, nil
}

// Cancel is the body of a Cancel frame: the id of a request the requester
// gave up on.
type Cancel struct{ ID uint64 }

// Append appends the body to b.
func (f Cancel) Append(b []byte) []byte { return binary.BigEndian.AppendUint64(b, f.ID) }

// ParseCancel reads a Cancel frame's body.
func ParseCancel(b []byte) (Cancel, error) {
	if len(b) != RequestSize {
		return Cancel{}, sizeError(KindCancel, len(b))
	}
	return Cancel{ID: binary.BigEndian.Uint64(b)}, nil
}

// sizeError reports a body of a size its kind does not have.
func sizeError(k Kind, n int) error { return fmt.Errorf("wire: %s frame of %d bytes", k, n) }
