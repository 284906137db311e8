package status_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/internal/clustertest"
)

// TestPageInABrowser renders the page of a live three-node cluster in a
// headless Chromium: a screenshot that is not blank and shows the picture's
// colours, and a DOM with a row per remote and the picture. It runs when
// PEERWEAVE_CHROMIUM names the browser, as .ci/run does, and keeps the
// screenshot at PEERWEAVE_SCREENSHOT if that is set.
func TestPageInABrowser(t *testing.T) {
	browser := os.Getenv("PEERWEAVE_CHROMIUM")
	if browser == "" {
		t.Skip("PEERWEAVE_CHROMIUM is not set: no browser to render the page in")
	}
	tr := newTrio(t)
	// Some traffic each way, for numbers on the page.
	for i := range 5 {
		require.NoError(t, tr.b.Send(clustertest.Remote(tr.a), fmt.Appendf(nil, "b to a %d", i)))
		require.NoError(t, tr.a.Send(clustertest.Remote(tr.c), fmt.Appendf(nil, "a to c %d", i)))
	}
	for range 5 {
		clustertest.Receive(t, tr.a)
		clustertest.Receive(t, tr.c)
	}
	srv := httptest.NewServer(tr.page) // on 127.0.0.1
	defer srv.Close()
	url := srv.URL + "/debug/peerweave/"

	shot := os.Getenv("PEERWEAVE_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "status.png")
	}
	chromium(t, browser, "--screenshot="+shot, "--window-size=1200,900", "--hide-scrollbars",
		// Paint the whole page before the shot, however loaded the machine.
		"--run-all-compositor-stages-before-draw", "--virtual-time-budget=10000", url)
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, 1200, 900), img.Bounds())

	const (
		background = 0xffffff
		self       = 0x0969da // the node in the picture
	)
	health := map[uint32]bool{0x1a7f37: true, 0xbf8700: true, 0xcf222e: true, 0x8c959f: true}
	var ink, selfInk, healthInk int
	for y := range 900 {
		for x := range 1200 {
			c := rgb(img.At(x, y))
			switch {
			case c == self:
				selfInk++
			case health[c]:
				healthInk++
			}
			if c != background {
				ink++
			}
		}
	}
	t.Logf("%d of %d pixels not background; node %d, links %d", ink, 1200*900, selfInk, healthInk)
	assert.Greater(t, ink, 1200*900/50, "the page is not blank")
	assert.Greater(t, selfInk, 300, "the node is drawn")
	assert.Greater(t, healthInk, 300, "links and remotes are drawn in their health's colours")

	dom := chromium(t, browser, "--dump-dom", url)
	assert.Equal(t, 2, strings.Count(dom, `<tr class="remote"`), "a row per remote")
	assert.Contains(t, dom, `<svg id="mesh"`)
	assert.Equal(t, 2, strings.Count(dom, `<line class="link `), "a link per remote")
	assert.Contains(t, dom, "bravo")
	assert.Contains(t, dom, "charlie")
}

// chromium runs the headless browser with args after the flags that keep it
// quiet and on its own, and returns what it wrote to stdout.
func chromium(t *testing.T, browser string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, browser, append(flags, args...)...)
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s %v: %s", browser, args, stderr.String())
	return stdout.String()
}

// rgb returns c as 0xRRGGBB.
func rgb(c color.Color) uint32 {
	r, g, b, _ := c.RGBA()
	return r>>8<<16 | g>>8<<8 | b>>8
}
