package discovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxFileSize is the largest file that a File source reads, in bytes; a
// larger one is an error, so that a runaway file cannot eat the memory.
const MaxFileSize = 1 << 20

// File returns a source that reads addresses from the file at path: one
// "host:port" per line. Blank lines and everything from a "#" to the end of
// a line are ignored. A malformed line is reported, with its number, and the
// other lines are used.
//
// The file is read each time the source is asked, so a change is seen at
// Join's next round. A tool that rewrites it should write a new file and
// rename it over the old one, so that no round reads it half-written.
func File(path string) Source { return fileSource(path) }

type fileSource string

func (f fileSource) Addrs(context.Context) ([]string, error) {
	data, err := readLimited(string(f))
	if err != nil {
		return nil, err
	}
	var addrs []string
	var errs []error
	n := 0
	for line := range bytes.Lines(data) {
		n++
		line, _, _ = bytes.Cut(line, []byte("#"))
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		addr, err := normalize(string(line))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", string(f), n, err))
			continue
		}
		addrs = append(addrs, addr)
	}
	return addrs, errors.Join(errs...)
}

func (f fileSource) String() string { return "file(" + string(f) + ")" }

// readLimited reads the file at path, up to MaxFileSize bytes.
func readLimited(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("discovery: read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("discovery: %s is larger than %d bytes", path, MaxFileSize)
	}
	return data, nil
}
