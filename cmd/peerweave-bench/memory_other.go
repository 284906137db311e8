//go:build !linux

package main

// availableMemory reports that the available memory is unknown here.
func availableMemory() (uint64, bool) { return 0, false }
