package memory_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// A genConfig is one generated memory configuration: the Flink options (as the -D values of
// the start-up scripts) and the derivation branch it was generated for.
type genConfig struct {
	ID       string
	Mode     string // "tm" or "jm"
	Category string
	Config   map[string]string
	// Via is "" for -D dynamic properties (the generated ones) or "file".
	Via string
}

// generateConfigs returns n TaskManager and m JobManager configurations, deterministic for the
// seed, spread over every branch of Flink's derivation: each way of giving the total (process,
// Flink, heap plus managed, and their mixes), fractions (0, 1, between, out of range), min/max
// ranges with the derived value exactly at, one byte inside and one byte outside their edges,
// legacy and deprecated keys, every size syntax, and invalid values.
func generateConfigs(seed uint64, n, m int) []genConfig {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	var out []genConfig
	tmCats := []func() (string, map[string]string){
		g.tmProcess, g.tmFlink, g.tmFine, g.tmMix, g.tmFractions, g.tmOverheadEdge,
		g.tmNetworkEdge, g.tmLegacy, g.tmSyntax, g.tmTiny, g.tmSlotsCPU,
	}
	for i := range n {
		cat, cfg := tmCats[i%len(tmCats)]()
		out = append(out, genConfig{ID: fmt.Sprintf("gen-tm-%05d", i), Mode: "tm", Category: cat, Config: cfg})
	}
	jmCats := []func() (string, map[string]string){
		g.jmTotals, g.jmOverheadEdge, g.jmLegacy, g.jmSyntax, g.jmTiny,
	}
	for i := range m {
		cat, cfg := jmCats[i%len(jmCats)]()
		out = append(out, genConfig{ID: fmt.Sprintf("gen-jm-%05d", i), Mode: "jm", Category: cat, Config: cfg})
	}
	return out
}

type gen struct{ r *rand.Rand }

const (
	kib = int64(1) << 10
	mib = int64(1) << 20
	gib = int64(1) << 30
)

func (g *gen) p(prob float64) bool { return g.r.Float64() < prob }

// mb is a random whole number of MiB in [lo, hi] MiB.
func (g *gen) mb(lo, hi int64) int64 { return (lo + g.r.Int64N(hi-lo+1)) * mib }

// size renders bytes in one of Flink's size syntaxes that denote it exactly.
func (g *gen) size(b int64) string {
	type unit struct {
		div   int64
		names []string
	}
	units := []unit{{1, []string{"", "b", " b", "bytes", " bytes"}}}
	if b%kib == 0 {
		units = append(units, unit{kib, []string{"k", "kb", " kibibytes", "K", " KB"}})
	}
	if b%mib == 0 {
		units = append(units, unit{mib, []string{"m", "mb", " mebibytes", "M", "Mb"}})
	}
	if b%gib == 0 && b != 0 {
		units = append(units, unit{gib, []string{"g", "gb", " gibibytes", "G", " GB"}})
	}
	if b%(gib<<10) == 0 && b != 0 {
		units = append(units, unit{gib << 10, []string{"t", "tb", " tebibytes"}})
	}
	u := units[g.r.IntN(len(units))]
	return strconv.FormatInt(b/u.div, 10) + u.names[g.r.IntN(len(u.names))]
}

// badSize is a value Flink's MemorySize parser rejects.
func (g *gen) badSize() string {
	bad := []string{"1.5g", "-1m", "abc", "1 zb", "12 parsecs", "99999999999t", "1g1", "m", "0x10m", "9223372036854775808"}
	return bad[g.r.IntN(len(bad))]
}

// fraction is a float option value: mostly inside [0, 1], sometimes at or past its edges.
func (g *gen) fraction() string {
	switch g.r.IntN(12) {
	case 0:
		return "0"
	case 1:
		return "1"
	case 2:
		return "1.0"
	case 3:
		return "-0.1"
	case 4:
		return "1.5"
	case 5:
		return "not-a-number"
	case 6:
		return "0.25f"
	default:
		return strconv.FormatFloat(float64(g.r.IntN(1000))/1000, 'f', -1, 64)
	}
}

// tmOptional sets some of the TaskManager's optional pools.
func (g *gen) tmOptional(c map[string]string) {
	if g.p(0.2) {
		c["taskmanager.memory.framework.heap.size"] = g.size(g.mb(32, 256))
	}
	if g.p(0.2) {
		c["taskmanager.memory.framework.off-heap.size"] = g.size(g.mb(32, 256))
	}
	if g.p(0.2) {
		c["taskmanager.memory.task.off-heap.size"] = g.size(g.mb(0, 512))
	}
	if g.p(0.2) {
		c["taskmanager.memory.jvm-metaspace.size"] = g.size(g.mb(64, 512))
	}
	if g.p(0.15) {
		c["taskmanager.memory.managed.fraction"] = g.fraction()
	}
	if g.p(0.15) {
		c["taskmanager.memory.network.fraction"] = g.fraction()
	}
	if g.p(0.15) {
		lo := g.mb(16, 512)
		c["taskmanager.memory.network.min"] = g.size(lo)
		if g.p(0.8) {
			c["taskmanager.memory.network.max"] = g.size(lo + g.mb(0, 1024) - 256*mib*int64(g.r.IntN(2)))
		}
	}
	if g.p(0.15) {
		c["taskmanager.memory.jvm-overhead.fraction"] = g.fraction()
	}
	if g.p(0.15) {
		lo := g.mb(64, 512)
		c["taskmanager.memory.jvm-overhead.min"] = g.size(lo)
		c["taskmanager.memory.jvm-overhead.max"] = g.size(lo + g.mb(0, 1024) - 128*mib*int64(g.r.IntN(2)))
	}
}

func (g *gen) tmProcess() (string, map[string]string) {
	c := map[string]string{"taskmanager.memory.process.size": g.size(g.mb(512, 16384))}
	g.tmOptional(c)
	return "process", c
}

func (g *gen) tmFlink() (string, map[string]string) {
	c := map[string]string{"taskmanager.memory.flink.size": g.size(g.mb(256, 16384))}
	g.tmOptional(c)
	return "flink", c
}

func (g *gen) tmFine() (string, map[string]string) {
	c := map[string]string{
		"taskmanager.memory.task.heap.size": g.size(g.mb(0, 4096)),
		"taskmanager.memory.managed.size":   g.size(g.mb(0, 4096)),
	}
	g.tmOptional(c)
	return "heap+managed", c
}

func (g *gen) tmMix() (string, map[string]string) {
	heap, managed := g.mb(64, 2048), g.mb(0, 2048)
	flink := heap + managed + g.mb(256, 1536)
	proc := flink + g.mb(256, 1536)
	c := map[string]string{}
	switch g.r.IntN(5) {
	case 0:
		c["taskmanager.memory.task.heap.size"], c["taskmanager.memory.managed.size"] = g.size(heap), g.size(managed)
		c["taskmanager.memory.flink.size"] = g.size(flink)
	case 1:
		c["taskmanager.memory.task.heap.size"], c["taskmanager.memory.managed.size"] = g.size(heap), g.size(managed)
		c["taskmanager.memory.process.size"] = g.size(proc)
	case 2:
		c["taskmanager.memory.flink.size"], c["taskmanager.memory.process.size"] = g.size(flink), g.size(proc)
	case 3:
		c["taskmanager.memory.task.heap.size"], c["taskmanager.memory.managed.size"] = g.size(heap), g.size(managed)
		c["taskmanager.memory.flink.size"], c["taskmanager.memory.process.size"] = g.size(flink), g.size(proc)
	default: // one of heap or managed only, with a total
		if g.p(0.5) {
			c["taskmanager.memory.task.heap.size"] = g.size(heap)
		} else {
			c["taskmanager.memory.managed.size"] = g.size(managed)
		}
		if g.p(0.5) {
			c["taskmanager.memory.flink.size"] = g.size(flink)
		} else {
			c["taskmanager.memory.process.size"] = g.size(proc)
		}
	}
	g.tmOptional(c)
	return "mix", c
}

func (g *gen) tmFractions() (string, map[string]string) {
	c := map[string]string{}
	if g.p(0.5) {
		c["taskmanager.memory.process.size"] = g.size(g.mb(1024, 8192))
	} else {
		c["taskmanager.memory.flink.size"] = g.size(g.mb(768, 8192))
	}
	c["taskmanager.memory.managed.fraction"] = g.fraction()
	c["taskmanager.memory.network.fraction"] = g.fraction()
	c["taskmanager.memory.jvm-overhead.fraction"] = g.fraction()
	return "fractions", c
}

// tmOverheadEdge puts the overhead derived from the process size exactly at, one byte inside
// and one byte outside its configured min or max. The fraction is a float option: the
// derived value is computed from it widened to double, as Flink does.
func (g *gen) tmOverheadEdge() (string, map[string]string) {
	if g.p(0.35) {
		return g.overheadFixed("taskmanager")
	}
	proc := g.mb(1024, 8192) + g.r.Int64N(mib)
	frac := []string{"0.1", "0.125", "0.2", "0.25", "0.3"}[g.r.IntN(5)]
	f32, _ := strconv.ParseFloat(frac, 32)
	derived := int64(float64(float32(f32)) * float64(proc))
	delta := []int64{-1, 0, 1}[g.r.IntN(3)]
	c := map[string]string{
		"taskmanager.memory.process.size":          g.size(proc),
		"taskmanager.memory.jvm-overhead.fraction": frac,
	}
	if g.p(0.5) {
		c["taskmanager.memory.jvm-overhead.min"] = g.size(derived + delta)
		c["taskmanager.memory.jvm-overhead.max"] = g.size(derived + delta + g.mb(0, 512))
	} else {
		c["taskmanager.memory.jvm-overhead.min"] = g.size(max(0, derived+delta-g.mb(0, 512)))
		c["taskmanager.memory.jvm-overhead.max"] = g.size(derived + delta)
	}
	return "overhead-edge", c
}

// tmNetworkEdge does the same for network memory derived from the total Flink memory.
func (g *gen) tmNetworkEdge() (string, map[string]string) {
	flink := g.mb(1024, 8192) + g.r.Int64N(mib)
	frac := []string{"0.1", "0.125", "0.2", "0.05"}[g.r.IntN(4)]
	f32, _ := strconv.ParseFloat(frac, 32)
	derived := int64(float64(float32(f32)) * float64(flink))
	delta := []int64{-1, 0, 1}[g.r.IntN(3)]
	c := map[string]string{
		"taskmanager.memory.flink.size":       g.size(flink),
		"taskmanager.memory.network.fraction": frac,
	}
	if g.p(0.5) {
		c["taskmanager.memory.network.min"] = g.size(derived + delta)
		c["taskmanager.memory.network.max"] = g.size(derived + delta + g.mb(0, 512))
	} else {
		c["taskmanager.memory.network.min"] = g.size(max(0, derived+delta-g.mb(0, 512)))
		c["taskmanager.memory.network.max"] = g.size(derived + delta)
	}
	if g.p(0.3) {
		c["taskmanager.memory.managed.size"] = g.size(g.mb(0, 512))
		c["taskmanager.memory.task.heap.size"] = g.size(g.mb(64, 512))
	}
	return "network-edge", c
}

func (g *gen) tmLegacy() (string, map[string]string) {
	c := map[string]string{}
	switch g.r.IntN(7) {
	case 0:
		c["taskmanager.heap.size"] = g.size(g.mb(256, 8192))
	case 1:
		c["taskmanager.heap.mb"] = strconv.FormatInt(g.mb(256, 8192)/mib, 10)
	case 2:
		c["taskmanager.heap.size"] = g.size(g.mb(256, 8192))
		c["taskmanager.heap.mb"] = strconv.FormatInt(g.mb(256, 8192)/mib, 10)
	case 3: // legacy heap beside a new total: the new key wins
		c["taskmanager.heap.size"] = g.size(g.mb(256, 8192))
		c[[]string{"taskmanager.memory.process.size", "taskmanager.memory.flink.size"}[g.r.IntN(2)]] = g.size(g.mb(1024, 8192))
	case 4: // deprecated network keys
		c["taskmanager.memory.process.size"] = g.size(g.mb(1024, 8192))
		c["taskmanager.network.memory.min"] = g.size(g.mb(16, 256))
		c["taskmanager.network.memory.max"] = g.size(g.mb(256, 2048))
		c["taskmanager.network.memory.fraction"] = g.fraction()
	case 5: // deprecated managed size key
		c["taskmanager.memory.flink.size"] = g.size(g.mb(1024, 8192))
		c["taskmanager.memory.size"] = g.size(g.mb(0, 1024))
	default: // legacy number of network buffers
		c["taskmanager.memory.process.size"] = g.size(g.mb(1024, 8192))
		c["taskmanager.network.numberOfBuffers"] = strconv.Itoa(g.r.IntN(8192) + 1)
	}
	if g.p(0.1) {
		c["taskmanager.heap.mb"] = []string{"-5", "abc", "0"}[g.r.IntN(3)]
	}
	return "legacy", c
}

// tmSyntax gives one option an odd-but-valid or an invalid value.
func (g *gen) tmSyntax() (string, map[string]string) {
	c := map[string]string{"taskmanager.memory.process.size": g.size(g.mb(1024, 8192))}
	keys := []string{
		"taskmanager.memory.process.size", "taskmanager.memory.flink.size",
		"taskmanager.memory.task.heap.size", "taskmanager.memory.managed.size",
		"taskmanager.memory.jvm-metaspace.size", "taskmanager.memory.network.min",
		"taskmanager.memory.framework.heap.size", "taskmanager.memory.jvm-overhead.max",
	}
	k := keys[g.r.IntN(len(keys))]
	if g.p(0.6) {
		c[k] = g.badSize()
	} else {
		c[k] = g.size(g.mb(64, 1024))
	}
	return "syntax", c
}

// tmTiny is small totals around where the fixed pools stop fitting.
func (g *gen) tmTiny() (string, map[string]string) {
	c := map[string]string{}
	if g.p(0.5) {
		c["taskmanager.memory.process.size"] = g.size(g.mb(200, 1100))
	} else {
		c["taskmanager.memory.flink.size"] = g.size(g.mb(150, 700))
	}
	g.tmOptional(c)
	return "tiny", c
}

func (g *gen) tmSlotsCPU() (string, map[string]string) {
	c := map[string]string{"taskmanager.memory.process.size": g.size(g.mb(1024, 8192))}
	if g.p(0.8) {
		c["taskmanager.numberOfTaskSlots"] = []string{"1", "2", "4", "16", "0", "-1", "x", strconv.Itoa(g.r.IntN(64) + 1)}[g.r.IntN(8)]
	}
	if g.p(0.7) {
		c["taskmanager.cpu.cores"] = []string{"0.5", "2", "1.25", "4.0", "0", "-1", "abc", "1e1", "3"}[g.r.IntN(9)]
	}
	return "slots-cpu", c
}

func (g *gen) jmOptional(c map[string]string) {
	if g.p(0.3) {
		c["jobmanager.memory.off-heap.size"] = g.size(g.mb(0, 512))
	}
	if g.p(0.2) {
		c["jobmanager.memory.jvm-metaspace.size"] = g.size(g.mb(64, 512))
	}
	if g.p(0.2) {
		c["jobmanager.memory.jvm-overhead.fraction"] = g.fraction()
	}
	if g.p(0.15) {
		lo := g.mb(64, 512)
		c["jobmanager.memory.jvm-overhead.min"] = g.size(lo)
		c["jobmanager.memory.jvm-overhead.max"] = g.size(lo + g.mb(0, 1024) - 128*mib*int64(g.r.IntN(2)))
	}
	if g.p(0.3) {
		c["jobmanager.memory.enable-jvm-direct-memory-limit"] = []string{"true", "false", "TRUE", "yes"}[g.r.IntN(4)]
	}
}

func (g *gen) jmTotals() (string, map[string]string) {
	heap := g.mb(128, 4096)
	flink := heap + g.mb(64, 1024)
	proc := flink + g.mb(256, 1536)
	c := map[string]string{}
	switch g.r.IntN(7) {
	case 0:
		c["jobmanager.memory.process.size"] = g.size(proc)
	case 1:
		c["jobmanager.memory.flink.size"] = g.size(flink)
	case 2:
		c["jobmanager.memory.heap.size"] = g.size(heap)
	case 3:
		c["jobmanager.memory.heap.size"], c["jobmanager.memory.flink.size"] = g.size(heap), g.size(flink)
	case 4:
		c["jobmanager.memory.heap.size"], c["jobmanager.memory.process.size"] = g.size(heap), g.size(proc)
	case 5:
		c["jobmanager.memory.flink.size"], c["jobmanager.memory.process.size"] = g.size(flink), g.size(proc)
	default:
		c["jobmanager.memory.heap.size"], c["jobmanager.memory.flink.size"] = g.size(heap), g.size(flink)
		c["jobmanager.memory.process.size"] = g.size(proc)
	}
	g.jmOptional(c)
	return "jm-totals", c
}

func (g *gen) jmOverheadEdge() (string, map[string]string) {
	if g.p(0.35) {
		return g.overheadFixed("jobmanager")
	}
	proc := g.mb(1024, 8192) + g.r.Int64N(mib)
	frac := []string{"0.1", "0.125", "0.2", "0.25"}[g.r.IntN(4)]
	f32, _ := strconv.ParseFloat(frac, 32)
	derived := int64(float64(float32(f32)) * float64(proc))
	delta := []int64{-1, 0, 1}[g.r.IntN(3)]
	c := map[string]string{
		"jobmanager.memory.process.size":          g.size(proc),
		"jobmanager.memory.jvm-overhead.fraction": frac,
	}
	if g.p(0.5) {
		c["jobmanager.memory.jvm-overhead.min"] = g.size(derived + delta)
		c["jobmanager.memory.jvm-overhead.max"] = g.size(derived + delta + g.mb(0, 512))
	} else {
		c["jobmanager.memory.jvm-overhead.min"] = g.size(max(0, derived+delta-g.mb(0, 512)))
		c["jobmanager.memory.jvm-overhead.max"] = g.size(derived + delta)
	}
	return "jm-overhead-edge", c
}

func (g *gen) jmLegacy() (string, map[string]string) {
	c := map[string]string{}
	switch g.r.IntN(4) {
	case 0:
		c["jobmanager.heap.size"] = g.size(g.mb(128, 4096))
	case 1:
		c["jobmanager.heap.mb"] = strconv.FormatInt(g.mb(128, 4096)/mib, 10)
	case 2:
		c["jobmanager.heap.size"] = g.size(g.mb(128, 4096))
		c[[]string{"jobmanager.memory.process.size", "jobmanager.memory.flink.size", "jobmanager.memory.heap.size"}[g.r.IntN(3)]] = g.size(g.mb(1024, 4096))
	default:
		c["jobmanager.heap.mb"] = []string{"-5", "abc", "0", "512"}[g.r.IntN(4)]
	}
	g.jmOptional(c)
	return "jm-legacy", c
}

func (g *gen) jmSyntax() (string, map[string]string) {
	c := map[string]string{"jobmanager.memory.process.size": g.size(g.mb(1024, 8192))}
	keys := []string{"jobmanager.memory.process.size", "jobmanager.memory.flink.size", "jobmanager.memory.heap.size",
		"jobmanager.memory.off-heap.size", "jobmanager.memory.jvm-metaspace.size", "jobmanager.memory.jvm-overhead.min"}
	k := keys[g.r.IntN(len(keys))]
	if g.p(0.6) {
		c[k] = g.badSize()
	} else {
		c[k] = g.size(g.mb(64, 1024))
	}
	return "jm-syntax", c
}

func (g *gen) jmTiny() (string, map[string]string) {
	c := map[string]string{}
	switch g.r.IntN(3) {
	case 0:
		c["jobmanager.memory.process.size"] = g.size(g.mb(300, 900))
	case 1:
		c["jobmanager.memory.flink.size"] = g.size(g.mb(64, 400))
	default:
		c["jobmanager.memory.heap.size"] = g.size(g.mb(0, 256))
	}
	g.jmOptional(c)
	return "jm-tiny", c
}

// describe is a config as a one-line reproducer.
func describe(c genConfig) string {
	var b strings.Builder
	b.WriteString(c.ID + " [" + c.Category + "]")
	for _, k := range sortedKeys(c.Config) {
		fmt.Fprintf(&b, " -D %s=%q", k, c.Config[k])
	}
	return b.String()
}

// overheadFixed gives both totals, so the overhead is what is left (process - flink -
// metaspace), which must lie inside [min, max]: at, one byte inside or one byte outside.
func (g *gen) overheadFixed(prefix string) (string, map[string]string) {
	flink := g.mb(512, 4096)
	overhead := g.mb(192, 1024) + g.r.Int64N(mib)
	proc := flink + 256*mib + overhead
	c := map[string]string{
		prefix + ".memory.flink.size":   g.size(flink),
		prefix + ".memory.process.size": g.size(proc),
	}
	d := []int64{-1, 0, 1}[g.r.IntN(3)]
	if g.p(0.5) {
		c[prefix+".memory.jvm-overhead.min"] = g.size(overhead + d)
		c[prefix+".memory.jvm-overhead.max"] = g.size(overhead + d + g.mb(0, 256))
	} else {
		c[prefix+".memory.jvm-overhead.min"] = g.size(overhead + d - g.mb(0, 128))
		c[prefix+".memory.jvm-overhead.max"] = g.size(overhead + d)
	}
	cat := "overhead-edge"
	if prefix == "jobmanager" {
		cat = "jm-overhead-edge"
	}
	return cat, c
}
