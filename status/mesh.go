package status

import "math"

// The picture of the node's view of the mesh: the node in the middle, its
// remotes on an ellipse around it, each linked to it by a line coloured by the
// remote's health (see Remote.Health), dashed for a remote being redialled.
// Every position is computed here, so that the page holds no script.

const (
	meshWidth, meshHeight = 760, 380
	meshRX, meshRY        = 220, 140 // radii of the ellipse of remotes
	maxDrawn              = 48       // remotes drawn; the rest are counted
	maxLabel              = 20       // runes of a remote's label in the picture
	maxLabelled           = 16       // remotes past which the picture names none, to keep it legible
)

// mesh is what the template draws.
type mesh struct {
	Width, Height int
	CX, CY        int
	Self          string
	Remotes       []meshRemote
	More          int // remotes not drawn
}

// meshRemote is one remote in the picture: at X, Y, its label at LX, LY
// anchored by Anchor ("start", "middle" or "end").
type meshRemote struct {
	X, Y, LX, LY int
	Anchor       string
	Label, Title string
	Health       string
	Lost         bool
}

// layout places the remotes of s around the node.
func layout(s Status) mesh {
	m := mesh{
		Width: meshWidth, Height: meshHeight,
		CX: meshWidth / 2, CY: meshHeight / 2,
		Self: short(s.Node.Name),
	}
	all := append(append([]Remote(nil), s.Remotes...), s.Reconnecting...)
	drawn := all[:min(len(all), maxDrawn)]
	m.More = len(all) - len(drawn) + s.Omitted
	for i, r := range drawn {
		// Clockwise, spread evenly around the top: two remotes sit left
		// and right, three make a triangle.
		a := 2*math.Pi*(float64(i)+0.5)/float64(len(drawn)) - math.Pi/2
		cos, sin := math.Cos(a), math.Sin(a)
		mr := meshRemote{
			X:      m.CX + int(math.Round(meshRX*cos)),
			Y:      m.CY + int(math.Round(meshRY*sin)),
			LX:     m.CX + int(math.Round((meshRX+16)*cos)),
			LY:     m.CY + int(math.Round((meshRY+16)*sin)) + 4,
			Anchor: "middle",
			Label:  short(r.Name),
			Title:  r.Address + " " + r.Health,
			Health: r.Health,
			Lost:   r.State != "connected",
		}
		if mr.Label == "" {
			mr.Label = r.Address
		}
		if len(drawn) > maxLabelled {
			mr.Label = "" // the title still names it
		}
		if r.SmoothedRTT > 0 {
			mr.Title += ", rtt " + duration(r.SmoothedRTT)
		}
		switch {
		case cos > 0.2:
			mr.Anchor = "start"
		case cos < -0.2:
			mr.Anchor = "end"
		}
		if sin > 0.9 {
			mr.LY += 8
		}
		m.Remotes = append(m.Remotes, mr)
	}
	return m
}

// short clips a name for the picture, by runes.
func short(s string) string {
	r := []rune(s)
	if len(r) <= maxLabel {
		return s
	}
	return string(r[:maxLabel-1]) + "…"
}
