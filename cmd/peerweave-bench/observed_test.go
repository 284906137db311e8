package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObservedRowComparesWithTheUnobserved(t *testing.T) {
	rows := observed(tiny(t, "observed", "-duration", "100ms", "-rounds", "2"))
	require.Len(t, rows, 1)
	assert.False(t, rows[0].failed, rows[0].measured)
	assert.Contains(t, rows[0].what, "observed, mem+gob, 1KiB")
	assert.Contains(t, rows[0].baseline, "not observed: ")
	assert.Contains(t, rows[0].ratio, "×")
}
