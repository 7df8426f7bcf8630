package planner

import (
	"fmt"
	"math"
	"math/big"
)

// Result is everything `flinktune plan` reports; its JSON form is the program interface.
type Result struct {
	Job          string          `json:"job"`
	TaskManager  ShapeOut        `json:"taskManager"`
	DefaultSlot  Profile         `json:"defaultSlot"`
	Requests     []RequestOut    `json:"requests"`
	Coarse       CoarseOut       `json:"coarse"`
	FlinkDefault FlinkOut        `json:"flinkDefault"`
	LowerBound   int             `json:"lowerBound"`
	Recommended  *RecommendedOut `json:"recommended"`
	Catalog      []CatalogOut    `json:"catalog,omitempty"`
	CatalogMix   *RecommendedOut `json:"catalogMix,omitempty"`
	BestShape    *BestShapeOut   `json:"bestShape,omitempty"`
	// Cheapest names the lowest-cost option among all of the above.
	Cheapest *CheapestOut `json:"cheapest,omitempty"`
	Warnings []string     `json:"warnings,omitempty"`
}

// ShapeOut describes a TaskManager shape.
type ShapeOut struct {
	Name          string  `json:"name"`
	Resources     Profile `json:"resources"`
	Slots         int     `json:"slots"`
	ProcessMemory int64   `json:"processMemory,omitempty"`
	Cost          float64 `json:"cost"`
	// Config is the Flink configuration that yields the shape (keys in order), when known.
	Config []KeyValue `json:"config,omitempty"`
}

// KeyValue is one configuration entry.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// RequestOut is one requirement as Flink's slot manager sees it (equal profiles merged).
type RequestOut struct {
	Name      string   `json:"name"`
	Groups    []string `json:"groups"`
	Slots     int      `json:"slots"`
	Unknown   bool     `json:"unknown"`
	Profile   *Profile `json:"profile,omitempty"`
	Effective Profile  `json:"effective"`
}

// CoarseOut is the coarse-grained count: slots per slot-sharing group and TaskManagers.
type CoarseOut struct {
	Slots               int            `json:"slots"`
	PerGroup            map[string]int `json:"perGroup"`
	SlotsPerTaskManager int            `json:"slotsPerTaskManager"`
	TaskManagers        int            `json:"taskManagers"`
}

// FlinkOut is Flink's own outcome.
type FlinkOut struct {
	// Strategy names the matching over registered TaskManagers (cluster.evenly-spread-out-slots).
	Strategy     string           `json:"strategy"`
	TaskManagers int              `json:"taskManagers"`
	Registered   int              `json:"registered"`
	Pending      int              `json:"pending"`
	New          int              `json:"new"`
	Redundant    int              `json:"redundant"`
	Refused      int              `json:"refused"`
	Fulfillable  bool             `json:"fulfillable"`
	Unfulfilled  []UnfulfilledOut `json:"unfulfilled,omitempty"`
	Messages     []string         `json:"messages,omitempty"`
	// OrderSensitivity is the range of TaskManager counts over every order of the
	// requirements (Flink's order is Java HashMap order).
	OrderSensitivity *OrderOut  `json:"orderSensitivity,omitempty"`
	Cost             float64    `json:"cost"`
	Waste            []WasteOut `json:"waste"`
	Allocation       []TMOut    `json:"allocation"`
}

// UnfulfilledOut is a requirement Flink cannot serve.
type UnfulfilledOut struct {
	Request string `json:"request"`
	Missing int    `json:"missingSlots"`
	Reason  string `json:"reason"`
}

// OrderOut is the spread of Flink's TaskManager count over requirement orders.
type OrderOut struct {
	Min    int `json:"min"`
	Max    int `json:"max"`
	Orders int `json:"orders"`
}

// TMOut is one TaskManager of a plan.
type TMOut struct {
	Name   string    `json:"name"`
	Kind   string    `json:"kind"`
	Shape  string    `json:"shape"`
	Slots  []SlotOut `json:"slots"`
	Used   Profile   `json:"used"`
	Free   Profile   `json:"free"`
	Failed bool      `json:"refused,omitempty"`
	// Fill is the largest used fraction over the dimensions, in percent.
	Fill float64 `json:"fillPercent"`
}

// SlotOut is a number of identical slots of one requirement on a TaskManager.
type SlotOut struct {
	Request string  `json:"request"`
	Count   int     `json:"count"`
	Each    Profile `json:"each"`
}

// WasteOut is unused capacity in one dimension.
type WasteOut struct {
	Dimension string  `json:"dimension"`
	Capacity  float64 `json:"capacity"`
	Used      float64 `json:"used"`
	Free      float64 `json:"free"`
	Percent   float64 `json:"percent"`
}

// ShapeCount is a number of TaskManagers of one shape.
type ShapeCount struct {
	Shape ShapeOut `json:"shape"`
	Count int      `json:"count"`
}

// RecommendedOut is a plan found by packing.
type RecommendedOut struct {
	TaskManagers    int          `json:"taskManagers"`
	Algorithm       string       `json:"algorithm"`
	Shapes          []ShapeCount `json:"shapes"`
	Cost            float64      `json:"cost"`
	Savings         *Savings     `json:"savings,omitempty"`
	GapToLowerBound int          `json:"gapToLowerBound"`
	Waste           []WasteOut   `json:"waste"`
	Allocation      []TMOut      `json:"allocation"`
	Note            string       `json:"note,omitempty"`
}

// ShapeOption is a candidate shape with its outcome.
type ShapeOption struct {
	TaskManagers  int     `json:"taskManagers"`
	Cost          float64 `json:"cost"`
	Slots         int     `json:"slots"`
	Resources     Profile `json:"resources"`
	ProcessMemory int64   `json:"processMemory,omitempty"`
}

// CheapestOut is the lowest-cost option found.
type CheapestOut struct {
	Option       string   `json:"option"`
	TaskManagers int      `json:"taskManagers"`
	Cost         float64  `json:"cost"`
	Savings      *Savings `json:"savings,omitempty"`
}

// Savings compares a plan with Flink's default.
type Savings struct {
	TaskManagers int     `json:"taskManagers"`
	Cost         float64 `json:"cost"`
	Percent      float64 `json:"percent"`
}

// CatalogOut evaluates one catalog shape for the whole job.
type CatalogOut struct {
	Shape ShapeOut `json:"shape"`
	// Fits is false when some slot is larger than the shape.
	Fits bool `json:"fits"`
	// FlinkTaskManagers is what Flink's first fit starts with this shape; FlinkFulfillable is
	// false when Flink could not give the job its slots on it.
	FlinkTaskManagers int             `json:"flinkTaskManagers"`
	FlinkFulfillable  bool            `json:"flinkFulfillable"`
	Plan              *RecommendedOut `json:"plan,omitempty"`
}

// BestShapeOut is the single TaskManager shape that wastes least for this job.
type BestShapeOut struct {
	Shape ShapeOut `json:"shape"`
	// Pattern is how many slots of each requirement one TaskManager is sized for.
	Pattern map[string]int `json:"pattern"`
	// TaskManagers is what Flink's first fit starts with this shape (what you get when you
	// deploy it); Packed is the best packing's count.
	TaskManagers int        `json:"taskManagers"`
	Packed       int        `json:"packed"`
	Cost         float64    `json:"cost"`
	Savings      *Savings   `json:"savings,omitempty"`
	Waste        []WasteOut `json:"waste"`
	// Others are the cheapest candidates with other TaskManager counts (up to 3), for
	// when one large TaskManager is not wanted.
	Others    []ShapeOption `json:"others,omitempty"`
	Derived   bool          `json:"derived"`
	Evaluated int           `json:"candidatesEvaluated"`
	Truncated bool          `json:"searchTruncated,omitempty"`
	Note      string        `json:"note,omitempty"`
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func (p *planner) shapeOut(s Shape) ShapeOut {
	o := ShapeOut{Name: s.Name, Resources: s.Total, Slots: s.Slots, ProcessMemory: s.ProcessMemory,
		Cost: round4(shapeCost(s, p.spec.TaskManager, p.useProc))}
	if s.Config != nil {
		for _, k := range s.Config.Keys() {
			v, _ := s.Config.Get(k)
			o.Config = append(o.Config, KeyValue{k, v})
		}
	}
	return o
}

func (p *planner) flinkOut(fo *flinkOutcome) FlinkOut {
	o := FlinkOut{Strategy: "first fit", TaskManagers: fo.taskManagers(), Fulfillable: fo.fulfillable(), Messages: fo.messages}
	if p.spec.Options.EvenlySpread {
		o.Strategy = "least utilization over registered TaskManagers, first fit over pending ones"
	}
	var live []*bin
	for _, b := range fo.bins {
		if b.failed {
			o.Refused++
			continue
		}
		live = append(live, b)
		switch b.kind {
		case KindRegistered:
			o.Registered++
		case KindPending:
			o.Pending++
		case KindNew:
			o.New++
		case KindRedundant:
			o.Redundant++
		}
	}
	for _, u := range fo.unfulfilled {
		o.Unfulfilled = append(o.Unfulfilled, UnfulfilledOut{Request: p.reqs[u.req].name, Missing: u.missing, Reason: u.reason})
	}
	o.Cost = round4(float64(o.TaskManagers) * shapeCost(p.spec.TaskManager, p.spec.TaskManager, p.useProc))
	o.Waste = p.waste(live)
	o.Allocation = p.binsOut(fo.bins, nil)
	return o
}

// binsOut renders bins; shapes names each bin's shape (nil: the configured TaskManager).
func (p *planner) binsOut(bins []*bin, shapes []Shape) []TMOut {
	out := make([]TMOut, 0, len(bins))
	for i, b := range bins {
		name := p.spec.TaskManager.Name
		if shapes != nil {
			name = shapes[b.shape].Name
		}
		t := TMOut{Name: fmt.Sprintf("TM%d", i+1), Kind: b.kind, Shape: name, Failed: b.failed,
			Used: p.sp.profile(b.used), Free: p.sp.profile(sub(b.cap, b.used)), Slots: []SlotOut{}}
		for _, a := range b.allocs {
			t.Slots = append(t.Slots, SlotOut{Request: p.reqs[a.req].name, Count: a.count, Each: p.sp.profile(a.eff)})
		}
		fill := 0.0
		for d := range b.cap {
			if b.cap[d] > 0 {
				fill = math.Max(fill, float64(b.used[d])/float64(b.cap[d]))
			}
		}
		t.Fill = round4(100 * fill)
		out = append(out, t)
	}
	return out
}

// waste sums capacity and use per dimension over bins (refused bins excluded by the caller).
func (p *planner) waste(bins []*bin) []WasteOut {
	dims := p.sp.dims()
	capSum, usedSum := newBigVec(dims), newBigVec(dims)
	for _, b := range bins {
		capSum.add(b.cap, 1)
		usedSum.add(b.used, 1)
	}
	var out []WasteOut
	for d := 0; d < dims; d++ {
		c, _ := new(big.Float).SetInt(capSum[d]).Float64()
		u, _ := new(big.Float).SetInt(usedSum[d]).Float64()
		if isDecimal(d) {
			c, u = c/decimalScale, u/decimalScale
		}
		if c == 0 && u == 0 {
			continue
		}
		w := WasteOut{Dimension: p.sp.dimName(d), Capacity: round4(c), Used: round4(u), Free: round4(c - u)}
		if c > 0 {
			w.Percent = round4(100 * (c - u) / c)
		}
		out = append(out, w)
	}
	return out
}
