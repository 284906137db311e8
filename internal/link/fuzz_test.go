package link

import (
	"errors"
	"io"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"

	"github.com/peerweave/peerweave/internal/wire"
)

// FuzzFrames feeds a link's reader arbitrary frames from its remote, which
// then half-closes. The link must not panic, must hand up only payloads
// within the window it granted and whole fragmented ones, and must end
// with a protocol error, the end of the stream or a goodbye.
func FuzzFrames(f *testing.F) {
	var valid []byte
	valid = raw(valid, wire.KindData, []byte("hello"))
	valid = raw(valid, wire.KindPing, nil)
	valid = raw(valid, wire.KindRequest, wire.Request{ID: 1}.Append(nil))
	valid = raw(valid, wire.KindData, []byte("question"))
	valid = raw(valid, wire.KindWindow, WindowBody(10))
	valid = raw(valid, wire.KindCancel, wire.Cancel{ID: 1}.Append(nil))
	f.Add(valid)
	f.Add(raw(raw(nil, wire.KindFirst, append(wire.First{Total: 6}.Append(nil), "abc"...)), wire.KindMore, []byte("def")))
	f.Add(raw(nil, wire.KindBye, nil))
	f.Add(raw(nil, wire.KindByeAck, nil))
	f.Add(raw(nil, wire.KindPeers, []byte{1, 2, 3}))
	f.Add([]byte{0, 0, 0, 9, 11, 0, 1, 0, 0, 1, 2})
	f.Fuzz(func(t *testing.T, input []byte) {
		synctest.Test(t, func(t *testing.T) {
			const window = 1 << 10
			l, r, remote := newLink(t, nil, wire.InitialWindow)
			l.granted.Store(window)
			l.cfg.MaxMessage = 4 << 10
			reading(t, l)
			remote.Write(input)
			remote.(interface{ CloseWrite() error }).CloseWrite()
			synctest.Wait()
			select {
			case err := <-r.closed:
				var pe ProtocolError
				if !errors.As(err, &pe) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("the link ended with %v", err)
				}
			default:
				// A goodbye: the link waits for its acknowledgement to go
				// out, or has ended without a failure.
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			total := 0
			for _, p := range r.payloads {
				total += len(p.b)
				assert.LessOrEqual(t, len(p.b), l.cfg.MaxMessage)
			}
			assert.LessOrEqual(t, total, window, "payloads past the window")
		})
	})
}
