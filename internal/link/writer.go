package link

import (
	"crypto/tls"

	"github.com/peerweave/peerweave/transport"
)

// signal wakes the writer, and starts it if it is not running: an idle
// link has no writer goroutine (see writeLoop).
//
// The wake-up is queued under l.mu, so that a writer about to go idle
// (idleExit, which looks at l.wake under l.mu) either sees it or has
// already said it stopped, and then this call starts another.
func (l *Link) signal() {
	l.mu.Lock()
	start := !l.writing && !l.stopped
	if start {
		l.writing = true
		l.writers.Add(1)
	} else {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	l.mu.Unlock()
	if start {
		go l.writeLoop()
	}
}

// idleExit ends the writer, which has just found nothing it may write, if
// the link is live and nothing came meanwhile; a goodbye keeps it, waiting
// for its acknowledgement or its expiry. Data still queued waits for the
// remote's window, whose Window frame signals. It reports whether the
// writer is to return.
func (l *Link) idleExit() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.State() != Live || len(l.ctrl) > 0 || len(l.wake) > 0 {
		return false
	}
	l.writing = false
	return true
}

// writeLoop writes whatever may be written, until the link closes or, once
// it has acknowledged the remote's goodbye, until that is written. Each
// write is bounded, and so is the time it may take: a link that takes
// nothing for the network timeout fails (writeLink), however much there is
// to send. A live link's writer returns once it runs out of work, and
// signal starts another when there is some.
func (l *Link) writeLoop() {
	defer l.writers.Done()
	for first := true; ; first = false {
		if !first && l.idleExit() {
			return
		}
		if !first {
			select {
			case <-l.wake:
			case <-l.expiry():
				l.expired()
				return
			case <-l.done:
				return
			}
		}
		for {
			l.mu.Lock()
			ctrl, data, last := l.take()
			l.mu.Unlock()
			idle := len(ctrl) == 0 && len(data) == 0
			if !idle {
				if err := l.write(ctrl, data); err != nil {
					l.h.WriteFailed(err)
					return
				}
			}
			if last && l.State() == SaidBye {
				l.halfClose()
				return
			}
			if last {
				l.Close()
				return
			}
			l.mu.Lock()
			l.written(ctrl)
			l.mu.Unlock()
			if idle {
				break
			}
		}
	}
}

// write writes ctrl, then data, in one call where it can, for as long as
// the link makes progress (writeConn).
func (l *Link) write(ctrl, data []byte) error {
	if len(ctrl) > 0 && len(data) > 0 && len(data) <= maxCopy {
		ctrl, data = append(ctrl, data...), nil
	}
	for _, b := range [][]byte{ctrl, data} {
		if len(b) == 0 {
			continue
		}
		if err := l.writeConn(b); err != nil {
			return err
		}
	}
	return nil
}

// writeConn writes b for as long as the link makes progress: with the
// link's watchdog on a connection that a passed write deadline breaks
// (TLS), else by writeLink.
func (l *Link) writeConn(b []byte) error {
	timeout := l.cfg.Timeout()
	if l.watch == nil {
		if _, fragile := l.conn.(interface{ ConnectionState() tls.ConnectionState }); !fragile {
			return writeLink(l.conn, b, timeout)
		}
		l.watch = newWatchdog(l.conn)
	}
	return l.watch.write(b, timeout)
}

// halfClose ends our side of the stream once our goodbye is written: no
// writer runs again, and the remote reads the end of the stream after the
// goodbye, while we read on until its acknowledgement (AwaitAck). Closing
// instead would make our kernel reset the connection at the remote's next
// frame, and the reset can overtake the goodbye.
func (l *Link) halfClose() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	if hc, ok := l.conn.(transport.HalfCloser); ok {
		hc.CloseWrite()
	}
}
