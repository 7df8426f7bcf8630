package planner

import (
	"fmt"
	"html"
	"io"
	"maps"
	"slices"
)

// svgPalette colors requests (cycled); free capacity is light grey, prior use dark grey.
var svgPalette = []string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}

const (
	svgMaxTMs  = 200 // TaskManagers drawn per plan; the rest are summarized
	svgBarW    = 520
	svgDimH    = 9
	svgLabelW  = 170
	svgWidth   = svgLabelW + svgBarW + 80
	svgRowGap  = 8
	svgSection = 34
)

// RenderSVG draws TaskManager occupancy of Flink's outcome and of the recommended plan: one
// block per TaskManager, one bar per resource dimension, segments per request.
func RenderSVG(w io.Writer, r *Result) error {
	ew := &errWriter{w: w}
	reqIdx := map[string]int{}
	for i, q := range r.Requests {
		reqIdx[q.Name] = i
	}
	type section struct {
		title string
		tms   []TMOut
	}
	sections := []section{{fmt.Sprintf("Flink's outcome: %s", plural(r.FlinkDefault.TaskManagers, "TaskManager", "TaskManagers")), r.FlinkDefault.Allocation}}
	if rec := r.Recommended; rec != nil {
		sections = append(sections, section{fmt.Sprintf("Recommended: %s (lower bound %d)", plural(rec.TaskManagers, "TaskManager", "TaskManagers"), r.LowerBound), rec.Allocation})
	}
	dimNames := svgDims(r)
	blockH := len(dimNames)*(svgDimH+2) + svgRowGap
	height := 60
	for _, s := range sections {
		height += svgSection + min(len(s.tms), svgMaxTMs)*blockH + 20
	}
	ew.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", svgWidth, height, svgWidth, height)
	ew.printf(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	ew.printf(`<text x="10" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(fmt.Sprintf("TaskManager occupancy — job %s on %s", r.Job, r.TaskManager.Name)))
	// Legend.
	x := 10
	for i, q := range r.Requests {
		ew.printf(`<rect x="%d" y="32" width="12" height="12" fill="%s"/><text x="%d" y="42">%s</text>`+"\n", x, svgPalette[i%len(svgPalette)], x+16, html.EscapeString(q.Name))
		x += 24 + 7*len(q.Name)
	}
	ew.printf(`<rect x="%d" y="32" width="12" height="12" fill="#555555"/><text x="%d" y="42">in use before</text>`+"\n", x, x+16)
	y := 60
	for _, s := range sections {
		y += 20
		ew.printf(`<text x="10" y="%d" font-size="13" font-weight="bold">%s</text>`+"\n", y, html.EscapeString(s.title))
		y += 14
		for i, t := range s.tms {
			if i == svgMaxTMs {
				ew.printf(`<text x="10" y="%d">… %d more TaskManagers</text>`+"\n", y+10, len(s.tms)-svgMaxTMs)
				y += 20
				break
			}
			label := fmt.Sprintf("%s %s", t.Name, t.Kind)
			if t.Failed {
				label += " (refused)"
			}
			ew.printf(`<g><title>%s</title>`+"\n", html.EscapeString(tmTitle(t)))
			ew.printf(`<text x="10" y="%d">%s</text>`+"\n", y+svgDimH, html.EscapeString(label))
			for di, dn := range dimNames {
				by := y + di*(svgDimH+2)
				used, free := dimValue(t.Used, dn), dimValue(t.Free, dn)
				capacity := used + free
				ew.printf(`<rect x="%d" y="%d" width="%d" height="%d" fill="#eeeeee"/>`+"\n", svgLabelW, by, svgBarW, svgDimH)
				if capacity <= 0 {
					continue
				}
				cx := 0.0
				slotUse := 0.0
				for _, sl := range t.Slots {
					wv := dimValue(sl.Each, dn) * float64(sl.Count) / capacity * svgBarW
					slotUse += dimValue(sl.Each, dn) * float64(sl.Count)
					if wv > 0 {
						ew.printf(`<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s"/>`+"\n", float64(svgLabelW)+cx, by, wv, svgDimH, svgPalette[reqIdx[sl.Request]%len(svgPalette)])
					}
					cx += wv
				}
				if pre := used - slotUse; pre > capacity*1e-9 {
					wv := pre / capacity * svgBarW
					ew.printf(`<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="#555555"/>`+"\n", float64(svgLabelW)+cx, by, wv, svgDimH)
				}
				ew.printf(`<text x="%d" y="%d" font-size="8" fill="#666666">%s</text>`+"\n", svgLabelW+svgBarW+4, by+svgDimH-1, dn)
			}
			ew.printf("</g>\n")
			y += blockH
		}
	}
	ew.printf("</svg>\n")
	return ew.err
}

func tmTitle(t TMOut) string {
	s := fmt.Sprintf("%s (%s, %s): used %s; free %s", t.Name, t.Kind, t.Shape, t.Used.Human(), t.Free.Human())
	for _, sl := range t.Slots {
		s += fmt.Sprintf("; %s×%d", sl.Request, sl.Count)
	}
	return s
}

// svgDims lists the dimensions any TaskManager has capacity in.
func svgDims(r *Result) []string {
	has := map[string]bool{}
	ext := map[string]bool{}
	for _, tms := range [][]TMOut{r.FlinkDefault.Allocation, recAlloc(r)} {
		for _, t := range tms {
			for _, d := range fixedDimNames {
				if dimValue(t.Used, d)+dimValue(t.Free, d) > 0 {
					has[d] = true
				}
			}
			for k := range t.Used.Extended {
				ext[k] = true
			}
			for k := range t.Free.Extended {
				ext[k] = true
			}
		}
	}
	var out []string
	for _, d := range fixedDimNames {
		if has[d] {
			out = append(out, d)
		}
	}
	return append(out, slices.Sorted(maps.Keys(ext))...)
}

func recAlloc(r *Result) []TMOut {
	if r.Recommended == nil {
		return nil
	}
	return r.Recommended.Allocation
}

func dimValue(p Profile, d string) float64 {
	switch d {
	case "cpu":
		return p.CPU.Float()
	case "taskHeap":
		return float64(p.TaskHeap)
	case "taskOffHeap":
		return float64(p.TaskOffHeap)
	case "managed":
		return float64(p.Managed)
	case "network":
		return float64(p.Network)
	}
	return p.Extended[d].Float()
}
