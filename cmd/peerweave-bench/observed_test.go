package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObservedRowsCompareWithTheUnobserved(t *testing.T) {
	rows := observed(tiny(t, "observed", "-duration", "100ms", "-rounds", "2"))
	require.Len(t, rows, len(scrapeIntervals), "a row per scrape interval")
	for i, r := range rows {
		assert.False(t, r.failed, r.measured)
		assert.Contains(t, r.what, "observed, mem+gob, 1KiB")
		assert.Contains(t, r.what, "gathered every "+fmtDur(scrapeIntervals[i]))
		assert.Contains(t, r.baseline, "not observed: ")
		assert.Contains(t, r.ratio, "×")
	}
}
