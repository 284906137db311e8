package discovery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoffDoublesUpToTheCapWithJitter(t *testing.T) {
	t.Parallel()
	for failures, full := range map[int]time.Duration{
		1:   time.Second,
		2:   2 * time.Second,
		3:   4 * time.Second,
		4:   8 * time.Second,
		5:   10 * time.Second,
		100: 10 * time.Second,
	} {
		seen := make(map[time.Duration]bool)
		for range 200 {
			d := backoff(time.Second, 10*time.Second, failures)
			assert.GreaterOrEqual(t, d, full/2, "failures %d", failures)
			assert.LessOrEqual(t, d, full, "failures %d", failures)
			seen[d] = true
		}
		assert.Greater(t, len(seen), 1, "failures %d: no jitter", failures)
	}
}
