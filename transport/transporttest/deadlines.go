package transporttest

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// past is a deadline long gone, as a node sets to interrupt a handshake.
var past = time.Unix(1, 0)

// pastReadDeadline: a Read past its deadline fails at once, and clearing
// the deadline makes Read work again.
func pastReadDeadline(t *testing.T, newTransport NewTransport) {
	readTimesOut(t, newTransport, func() time.Time { return past })
}

// readDeadlineExpires: a pending Read returns once its deadline passes, and
// the connection still works after the deadline is cleared. A node relies
// on this to drop remotes that fall silent.
func readDeadlineExpires(t *testing.T, newTransport NewTransport) {
	readTimesOut(t, newTransport, func() time.Time { return time.Now().Add(50 * time.Millisecond) })
}

// readTimesOut checks that a Read with the deadline fails with a timeout,
// and that the connection works once the deadline is cleared.
func readTimesOut(t *testing.T, newTransport NewTransport, deadline func() time.Time) {
	d, a, _ := pair(t, newTransport)
	require.NoError(t, a.SetReadDeadline(deadline()))
	_, err := await(t, "Read with a deadline", func() (int, error) { return a.Read(make([]byte, 1)) })
	assertTimeout(t, err, "Read")
	require.NoError(t, a.SetReadDeadline(time.Time{}))
	exchange(t, d, a)
}

// pastWriteDeadline: a Write past its deadline fails at once.
func pastWriteDeadline(t *testing.T, newTransport NewTransport) {
	d, _, _ := pair(t, newTransport)
	require.NoError(t, d.SetWriteDeadline(past))
	_, err := await(t, "Write past its deadline", func() (int, error) { return d.Write([]byte("late")) })
	assertTimeout(t, err, "Write")
}

// writeDeadlineExpires: a Write that blocks because the peer reads nothing
// returns once its deadline passes. A node relies on this to drop remotes
// that stop reading.
func writeDeadlineExpires(t *testing.T, newTransport NewTransport) {
	d, _, _ := pair(t, newTransport)
	require.NoError(t, d.SetWriteDeadline(time.Now().Add(100*time.Millisecond)))
	err := awaitErr(t, "Write to a peer that reads nothing", func() error { return fill(d) })
	assertTimeout(t, err, "Write")
}

// fill writes to c until a Write fails, and returns that error. It gives up
// after 4 GiB, more than any transport should buffer for a peer that does
// not read.
func fill(c net.Conn) error {
	chunk := make([]byte, 1<<20)
	for range 4 << 10 {
		if _, err := c.Write(chunk); err != nil {
			return err
		}
	}
	return nil
}

// clearedDeadline: a zero deadline cancels one that has already passed.
func clearedDeadline(t *testing.T, newTransport NewTransport) {
	d, a, _ := pair(t, newTransport)
	for _, c := range []net.Conn{d, a} {
		require.NoError(t, c.SetDeadline(past))
		require.NoError(t, c.SetDeadline(time.Time{}))
	}
	exchange(t, d, a)
}
