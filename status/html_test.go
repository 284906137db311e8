package status_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerweave/peerweave/cluster"
	"github.com/peerweave/peerweave/internal/clustertest"
	"github.com/peerweave/peerweave/status"
)

// getHTML serves the page and returns its body.
func getHTML(t *testing.T, page http.Handler) string {
	t.Helper()
	resp := get(t, page, http.MethodGet, "/debug/peerweave/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

func TestHTMLHasARowPerRemoteAndTheMesh(t *testing.T) {
	t.Parallel()
	tr := newTrio(t)
	page := getHTML(t, tr.page)

	assert.Equal(t, 2, strings.Count(page, `<tr class="remote"`))
	for _, n := range []*cluster.Node{tr.b, tr.c} {
		assert.Contains(t, page, n.String())
		assert.Contains(t, page, n.Name())
	}
	assert.Contains(t, page, "role=cache")
	assert.Contains(t, page, "alpha")
	assert.Contains(t, page, "No remote is being redialled.")

	svg := page[strings.Index(page, `<svg id="mesh"`):]
	svg = svg[:strings.Index(svg, "</svg>")]
	assert.Equal(t, 2, strings.Count(svg, `<line class="link `), "a link to each remote")
	assert.Equal(t, 3, strings.Count(svg, "<circle "), "the node and its two remotes")
	assert.Contains(t, svg, ">bravo</text>")

	assert.NotContains(t, page, "<script", "no script")
	assert.NotContains(t, page, "http://", "nothing fetched")
	assert.NotContains(t, page, "https://")
	assert.Contains(t, page, `<tr class="event`)
}

func TestHTMLEscapesWhatRemotesClaim(t *testing.T) {
	t.Parallel()
	const hostile = `<script>alert(1)</script>"'&`
	tr := newTrio(t, "alpha", hostile)
	require.NoError(t, tr.c.SetTags(map[string]string{`"><img src=x onerror=alert(2)>`: `</td></tr></table><b>bold</b>`}))
	// The tags reach a in order with the rest of c's traffic: a message
	// sent after them arrives after them.
	require.NoError(t, tr.c.Send(clustertest.Remote(tr.a), []byte("after the tags")))
	clustertest.Receive(t, tr.a)
	page := getHTML(t, tr.page)

	for _, raw := range []string{"<script>", "<img", "<b>bold", "</table><b>"} {
		assert.NotContains(t, page, raw)
	}
	assert.Contains(t, page, "&lt;script&gt;alert(1)&lt;/script&gt;")
	assert.Contains(t, page, "&lt;img src=x onerror=alert(2)&gt;")
	assert.Contains(t, page, "&lt;b&gt;bold&lt;/b&gt;")
	assert.Equal(t, 2, strings.Count(page, `<tr class="remote"`))
}

func TestHTMLClipsWhatRemotesClaim(t *testing.T) {
	t.Parallel()
	tr := newTrio(t)
	tags := map[string]string{}
	for i := range 40 {
		tags[strings.Repeat(string(rune('a'+i%26)), 1+i)] = strings.Repeat("v", 300)
	}
	require.NoError(t, tr.c.SetTags(tags))
	require.NoError(t, tr.c.Send(clustertest.Remote(tr.a), []byte("after the tags")))
	clustertest.Receive(t, tr.a)

	s := getJSON(t, tr.page)
	require.Len(t, s.Remotes, 2)
	got := s.Remotes[1].Tags
	assert.Len(t, got, 16)
	for k, v := range got {
		assert.LessOrEqual(t, len(k), 64)
		assert.LessOrEqual(t, len(v), 64)
	}
	assert.Less(t, len(getHTML(t, tr.page)), 64<<10, "a page of two remotes stays small whatever their tags")
}

func TestMaxRemotesBoundsTheLists(t *testing.T) {
	t.Parallel()
	tr := newTrio(t)
	page := status.Handler(tr.a, status.WithMaxRemotes(1))
	s := getJSON(t, page)
	assert.Len(t, s.Remotes, 1)
	assert.Equal(t, 1, s.Omitted)
	assert.False(t, s.Recording, "no recorder given")
	assert.Empty(t, s.Events)
	html := getHTML(t, page)
	assert.Equal(t, 1, strings.Count(html, `<tr class="remote"`))
	assert.Contains(t, html, "1 more remotes not listed")
}

func TestOnlyGetAndHead(t *testing.T) {
	t.Parallel()
	tr := newTrio(t)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		resp := get(t, tr.page, m, "/debug/peerweave/")
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, m)
		assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"), m)
	}
	resp := get(t, tr.page, http.MethodHead, "/debug/peerweave/?format=json")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 2, tr.a.Stats().Remotes, "the page changed nothing")
}
