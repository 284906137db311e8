package link

// A remote that sends nothing for Config.Silence, counted from the moment
// the reader begins to wait for it, has missed a health check: the read
// fails with a timeout, and the node drops the remote.
//
// A read deadline set per read would say this directly, but setting one
// updates a runtime timer, and a busy reader reads once per frame or two.
// So the reader arms the connection's read deadline lazily (Link.armed,
// owned by whichever reader reads the connection): a read leaves the armed
// deadline alone unless it falls due after the read's own limit
// (Config.Silence shrank); when the armed deadline passes during a read
// that began after it was armed, or while the reader was busy with what it
// had read, the read re-arms it at its own limit and reads on. A read
// fails only at its own limit, as with a deadline per read, and a remote
// that keeps talking costs one deadline about every Config.Silence.

// readConn reads from the connection, failing with a timeout once the
// remote has been silent for Config.Silence since the call.
func (l *Link) readConn(b []byte) (int, error) {
	start := monotonic()
	limit := start + int64(l.cfg.Silence())
	if armed := l.armed; armed == 0 || armed > limit {
		l.armSilence(limit)
	}
	for {
		n, err := l.conn.Read(b)
		if n > 0 || err == nil || !IsTimeout(err) {
			return n, err
		}
		now := monotonic()
		if now < l.armed || now >= limit {
			// Not our deadline (the connection cannot read again),
			// or silent for the whole limit.
			return n, err
		}
		l.armSilence(limit)
	}
}

// armSilence sets the connection's read deadline to at, by monotonic. The
// deadline it sets is no earlier than at, so that the read it ends finds
// its limit reached.
func (l *Link) armSilence(at int64) {
	l.armed = at
	l.conn.SetReadDeadline(timeAt(at))
}
