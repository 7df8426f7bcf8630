package planner

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// humanBytes renders a size for people: "1.43 GiB", "343.1 MiB", "512 KiB", "12 B".
func humanBytes(n int64) string {
	f := float64(n)
	switch {
	case n >= 1<<30:
		return trimFloat(f/(1<<30), 2) + " GiB"
	case n >= 1<<20:
		return trimFloat(f/(1<<20), 1) + " MiB"
	case n >= 1<<10:
		return trimFloat(f/(1<<10), 1) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

func trimFloat(f float64, prec int) string {
	s := strconv.FormatFloat(f, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Human renders a profile for people, skipping zero pools.
func (p Profile) Human() string {
	parts := []string{"cpu " + trimFloat(p.CPU.Float(), 3)}
	add := func(name string, v int64) {
		if v != 0 {
			parts = append(parts, name+" "+humanBytes(v))
		}
	}
	add("heap", p.TaskHeap)
	add("off-heap", p.TaskOffHeap)
	add("managed", p.Managed)
	add("network", p.Network)
	for _, k := range slices.Sorted(maps.Keys(p.Extended)) {
		parts = append(parts, k+" "+trimFloat(p.Extended[k].Float(), 3))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// RenderText writes the plan for people: requests, Flink's outcome with occupancy bars, the
// lower bound, the recommended plan, catalog comparisons and the best single shape.
func RenderText(w io.Writer, r *Result) error {
	ew := &errWriter{w: w}
	tm := r.TaskManager
	proc := ""
	if tm.ProcessMemory > 0 {
		proc = "; process " + humanBytes(tm.ProcessMemory)
	}
	ew.printf("Job %q on TaskManager %q: %s (%s%s)\n", r.Job, tm.Name, plural(tm.Slots, "slot", "slots"), tm.Resources.Human(), proc)
	ew.printf("Default slot: %s\n\n", r.DefaultSlot.Human())

	ew.printf("Slot requests, as Flink's slot manager sees them:\n")
	tw := tabwriter.NewWriter(ew, 2, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  REQUEST\tSLOTS\tEACH SLOT\n")
	for _, q := range r.Requests {
		each := "unspecified → default slot"
		if q.Profile != nil {
			each = q.Profile.Human()
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", q.Name, q.Slots, each)
	}
	tw.Flush()
	per := make([]string, 0, len(r.Coarse.PerGroup))
	for _, g := range slices.Sorted(maps.Keys(r.Coarse.PerGroup)) {
		per = append(per, fmt.Sprintf("%s %d", g, r.Coarse.PerGroup[g]))
	}
	ew.printf("Coarse-grained: %s (%s) → %s of %d slots\n\n", plural(r.Coarse.Slots, "slot", "slots"), strings.Join(per, ", "),
		plural(r.Coarse.TaskManagers, "TaskManager", "TaskManagers"), r.Coarse.SlotsPerTaskManager)

	f := r.FlinkDefault
	ew.printf("Flink's outcome (fine-grained slot manager, %s): %s", flinkStrategy(r), plural(f.TaskManagers, "TaskManager", "TaskManagers"))
	var parts []string
	for _, x := range []struct {
		n    int
		what string
	}{{f.Registered, "registered"}, {f.Pending, "pending"}, {f.New, "new"}, {f.Redundant, "redundant"}, {f.Refused, "refused"}} {
		if x.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", x.n, x.what))
		}
	}
	ew.printf(" (%s), cost %s\n", strings.Join(parts, ", "), trimFloat(f.Cost, 3))
	renderBins(ew, f.Allocation, r.Requests)
	renderWaste(ew, f.Waste)
	if !f.Fulfillable {
		ew.printf("  THE JOB CANNOT GET ITS SLOTS:\n")
		for _, u := range f.Unfulfilled {
			ew.printf("    %s: %d slot(s) missing: %s\n", u.Request, u.Missing, u.Reason)
		}
	}
	for _, m := range f.Messages {
		ew.printf("  %s\n", m)
	}
	if o := f.OrderSensitivity; o != nil && o.Min != o.Max {
		ew.printf("  Flink walks the requests in Java HashMap order; over all %d orders it starts %d..%d TaskManagers.\n", o.Orders, o.Min, o.Max)
	}
	if r.Recommended != nil {
		ew.printf("\nLower bound on this shape: %s\n", plural(r.LowerBound, "TaskManager", "TaskManagers"))
	}

	if rec := r.Recommended; rec != nil {
		ew.printf("\nRecommended on %q: %s (%s), cost %s", tm.Name, plural(rec.TaskManagers, "TaskManager", "TaskManagers"), rec.Algorithm, trimFloat(rec.Cost, 3))
		ew.printf("%s\n", savingsText(rec.Savings))
		if rec.GapToLowerBound == 0 {
			ew.printf("  Optimal on this shape: it meets the lower bound.\n")
		} else {
			ew.printf("  %s above the lower bound.\n", plural(rec.GapToLowerBound, "TaskManager", "TaskManagers"))
		}
		if rec.Note != "" {
			ew.printf("  Note: %s\n", rec.Note)
		}
		renderBins(ew, rec.Allocation, r.Requests)
		renderWaste(ew, rec.Waste)
	} else {
		ew.printf("\nRecommended: none — some slot is larger than a whole %q TaskManager.\n", tm.Name)
	}

	if len(r.Catalog) > 0 {
		ew.printf("\nCatalog shapes, each alone:\n")
		tw := tabwriter.NewWriter(ew, 2, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  SHAPE\tRESOURCES\tSLOTS\tCOST/TM\tFLINK TMs\tPACKED TMs\tTOTAL COST\n")
		for _, c := range r.Catalog {
			packed, total := "-", "does not fit"
			if c.Plan != nil {
				packed, total = strconv.Itoa(c.Plan.TaskManagers), trimFloat(c.Plan.Cost, 3)
			}
			flinkTMs := strconv.Itoa(c.FlinkTaskManagers)
			if !c.FlinkFulfillable {
				flinkTMs = "fails"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\t%s\n", c.Shape.Name, c.Shape.Resources.Human(), c.Shape.Slots, trimFloat(c.Shape.Cost, 3), flinkTMs, packed, total)
		}
		tw.Flush()
		if m := r.CatalogMix; m != nil {
			ew.printf("  Mixed shapes: %s, cost %s%s\n    (%s)\n", shapesText(m.Shapes), trimFloat(m.Cost, 3), savingsText(m.Savings), m.Note)
		}
	}

	if b := r.BestShape; b != nil {
		ew.printf("\nSingle best TaskManager shape")
		if b.Shape.Slots == 0 {
			ew.printf(": %s (%d candidates evaluated)\n", b.Note, b.Evaluated)
		} else {
			ew.printf(" (%d candidates evaluated%s): %s\n", b.Evaluated, map[bool]string{true: ", search truncated"}[b.Truncated], b.Shape.Resources.Human())
			ew.printf("  Flink starts %s of it, cost %s%s", plural(b.TaskManagers, "TaskManager", "TaskManagers"), trimFloat(b.Cost, 3), savingsText(b.Savings))
			ew.printf("\n  Sized for: ")
			keys := slices.Sorted(maps.Keys(b.Pattern))
			for i, k := range keys {
				if i > 0 {
					ew.printf(", ")
				}
				ew.printf("%d × %s", b.Pattern[k], k)
			}
			ew.printf(" per TaskManager\n")
			if b.Note != "" {
				ew.printf("  Note: %s\n", b.Note)
			}
			if len(b.Shape.Config) > 0 {
				ew.printf("  Flink configuration:\n")
				for _, kv := range b.Shape.Config {
					ew.printf("    %s: %s\n", kv.Key, kv.Value)
				}
				if b.Shape.ProcessMemory > 0 {
					ew.printf("    # derived total process memory: %s\n", humanBytes(b.Shape.ProcessMemory))
				}
			}
			for _, o := range b.Others {
				proc := ""
				if o.ProcessMemory > 0 {
					proc = ", process " + humanBytes(o.ProcessMemory)
				}
				ew.printf("  Or %s of %d slots (%s%s), cost %s\n", plural(o.TaskManagers, "TaskManager", "TaskManagers"), o.Slots, o.Resources.Human(), proc, trimFloat(o.Cost, 3))
			}
		}
	}
	if c := r.Cheapest; c != nil {
		ew.printf("\nCheapest: %s, %s, cost %s%s\n", c.Option, plural(c.TaskManagers, "TaskManager", "TaskManagers"), trimFloat(c.Cost, 3), savingsText(c.Savings))
	}
	for _, w := range r.Warnings {
		ew.printf("\nnote: %s\n", w)
	}
	return ew.err
}

func savingsText(s *Savings) string {
	switch {
	case s == nil:
		return ""
	case s.Cost > 1e-9 && s.TaskManagers >= 0:
		return fmt.Sprintf(" — %s%% cheaper than Flink's outcome (%s fewer)", trimFloat(s.Percent, 1), plural(s.TaskManagers, "TaskManager", "TaskManagers"))
	case s.Cost > 1e-9:
		return fmt.Sprintf(" — %s%% cheaper than Flink's outcome (%s more, but smaller)", trimFloat(s.Percent, 1), plural(-s.TaskManagers, "TaskManager", "TaskManagers"))
	case s.Cost < -1e-9:
		return fmt.Sprintf(" — %s%% dearer than Flink's outcome", trimFloat(-s.Percent, 1))
	}
	return " — same cost as Flink's outcome"
}

func flinkStrategy(r *Result) string { return r.FlinkDefault.Strategy }

func shapesText(s []ShapeCount) string {
	parts := make([]string, len(s))
	for i, c := range s {
		parts[i] = fmt.Sprintf("%s of %q", plural(c.Count, "TaskManager", "TaskManagers"), c.Shape.Name)
	}
	return strings.Join(parts, " + ")
}

// barChars fill a TaskManager's bar, one per request (cycled).
var barChars = []rune{'█', '▓', '▒', '░', '#', '=', '+', '*'}

const barWidth = 30

// renderBins draws one bar per TaskManager over its most used dimension, split by request;
// consecutive identical TaskManagers are collapsed.
func renderBins(ew *errWriter, tms []TMOut, reqs []RequestOut) {
	reqIdx := map[string]int{}
	for i, q := range reqs {
		reqIdx[q.Name] = i
	}
	sig := func(t TMOut) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s|%s|%v|", t.Kind, t.Shape, t.Failed)
		for _, s := range t.Slots {
			fmt.Fprintf(&b, "%s×%d;", s.Request, s.Count)
		}
		fmt.Fprintf(&b, "%v", t.Used)
		return b.String()
	}
	nameW := len(fmt.Sprintf("TM%d–TM%d", len(tms), len(tms)))
	for i := 0; i < len(tms); {
		j := i + 1
		for j < len(tms) && sig(tms[j]) == sig(tms[i]) {
			j++
		}
		t := tms[i]
		name := t.Name
		if j-i > 1 {
			name = fmt.Sprintf("%s–%s", t.Name, tms[j-1].Name)
		}
		bar := occupancyBar(t, reqIdx)
		var slots []string
		for _, s := range t.Slots {
			slots = append(slots, fmt.Sprintf("%s×%d", s.Request, s.Count))
		}
		if len(slots) == 0 {
			slots = []string{"empty"}
		}
		kind := t.Kind
		if t.Failed {
			kind = "REFUSED"
		}
		mult := ""
		if j-i > 1 {
			mult = fmt.Sprintf(" (×%d)", j-i)
		}
		ew.printf("  %-*s %-10s %s %5.1f%%  %s%s\n", nameW, name, kind, bar, t.Fill, strings.Join(slots, ", "), mult)
		i = j
	}
	if len(tms) > 0 && len(reqs) > 1 {
		var legend []string
		for i, q := range reqs {
			legend = append(legend, fmt.Sprintf("%c %s", barChars[i%len(barChars)], q.Name))
		}
		ew.printf("  %*s %s\n", nameW+11, "", strings.Join(legend, "  "))
	}
}

// occupancyBar fills barWidth cells in proportion to the TaskManager's most used dimension,
// each request with its own character.
func occupancyBar(t TMOut, reqIdx map[string]int) string {
	dims := []func(Profile) float64{
		func(p Profile) float64 { return p.CPU.Float() },
		func(p Profile) float64 { return float64(p.TaskHeap) },
		func(p Profile) float64 { return float64(p.TaskOffHeap) },
		func(p Profile) float64 { return float64(p.Managed) },
		func(p Profile) float64 { return float64(p.Network) },
	}
	for _, k := range slices.Sorted(maps.Keys(t.Used.Extended)) {
		dims = append(dims, func(p Profile) float64 { return p.Extended[k].Float() })
	}
	best, bestFill := 0, -1.0
	for d, get := range dims {
		c := get(t.Used) + get(t.Free)
		if c > 0 && get(t.Used)/c > bestFill {
			best, bestFill = d, get(t.Used)/c
		}
	}
	get := dims[best]
	capacity := get(t.Used) + get(t.Free)
	var b strings.Builder
	cells, acc := 0, 0.0
	for _, s := range t.Slots {
		if capacity <= 0 {
			break
		}
		acc += get(s.Each) * float64(s.Count) / capacity * barWidth
		n := int(math.Round(acc)) - cells
		for k := 0; k < n && cells < barWidth; k++ {
			b.WriteRune(barChars[reqIdx[s.Request]%len(barChars)])
			cells++
		}
	}
	// Use before planning (registered TaskManagers) shows as ':'.
	if capacity > 0 {
		n := int(math.Round(bestFill*barWidth)) - cells
		for k := 0; k < n && cells < barWidth; k++ {
			b.WriteRune(':')
			cells++
		}
	}
	for cells < barWidth {
		b.WriteRune('·')
		cells++
	}
	return b.String()
}

func renderWaste(ew *errWriter, ws []WasteOut) {
	if len(ws) == 0 {
		return
	}
	var parts []string
	for _, w := range ws {
		free := trimFloat(w.Free, 3)
		if w.Dimension != "cpu" && !isExtendedName(w.Dimension) {
			free = humanBytes(int64(w.Free))
		}
		parts = append(parts, fmt.Sprintf("%s %s (%s%%)", w.Dimension, free, trimFloat(w.Percent, 1)))
	}
	ew.printf("  Unused: %s\n", strings.Join(parts, ", "))
}

func isExtendedName(d string) bool {
	for _, f := range fixedDimNames {
		if f == d {
			return false
		}
	}
	return true
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, a ...any) { fmt.Fprintf(e, format, a...) }
