package status

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"time"
)

//go:embed page.html
var pageHTML string

// page is the HTML page. html/template escapes every string in its
// context, so that names, tags and errors, which remotes supply, stay text.
var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"duration": duration,
	"bytes":    byteSize,
	"since":    since,
	"clock":    func(t time.Time) string { return t.Format("15:04:05.000") },
	"rfc3339":  func(t time.Time) string { return t.Format(time.RFC3339) },
}).Parse(pageHTML))

// pageData is what the template renders: the status, and its picture.
type pageData struct {
	Status
	Mesh mesh
}

// render writes the page of s to w.
func render(w io.Writer, s Status) error {
	return page.Execute(w, pageData{Status: s, Mesh: layout(s)})
}

// duration formats d to three significant digits or so, "–" for none.
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// since formats how long ago t was, to the second, from now.
func since(now, t time.Time) string {
	d := now.Sub(t).Round(time.Second)
	switch {
	case t.IsZero():
		return "–"
	case d < time.Second:
		return "just now"
	}
	return d.String() + " ago"
}

// byteSize formats a number of bytes, an int or a uint64, in binary units.
func byteSize(v any) string {
	var n uint64
	switch v := v.(type) {
	case int:
		n = uint64(max(v, 0))
	case uint64:
		n = v
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
