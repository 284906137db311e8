package tcp

import "golang.org/x/sys/unix"

// setLowat sets TCP_NOTSENT_LOWAT on the socket fd.
func setLowat(fd uintptr, lowat int) {
	unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, lowat)
}

// sendQueue returns the bytes in the send queue of the socket fd, sent but
// unacknowledged or unsent (SO_NWRITE).
func sendQueue(fd uintptr) (int, error) {
	return unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NWRITE)
}
