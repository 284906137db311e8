//go:build !linux && !darwin

package tcp

import "errors"

// setLowat does nothing: the kernel's default applies.
func setLowat(uintptr, int) {}

// sendQueue is not known here: a node judges the connection by its writes.
func sendQueue(uintptr) (int, error) { return 0, errors.ErrUnsupported }
