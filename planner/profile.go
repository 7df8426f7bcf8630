package planner

import (
	"maps"
	"math/big"
	"slices"
	"strings"

	"github.com/flinktune/flinktune/flinkconf"
)

// Profile is a Flink ResourceProfile: CPU cores, four memory pools and extended resources
// (e.g. "gpu"). Network is 0 in fine-grained requests unless the job announces network memory
// (see flink-scheduling.md §D.3). Zero-valued extended resources are dropped.
type Profile struct {
	CPU         Decimal            `json:"cpu"`
	TaskHeap    int64              `json:"taskHeap"`
	TaskOffHeap int64              `json:"taskOffHeap"`
	Managed     int64              `json:"managed"`
	Network     int64              `json:"network"`
	Extended    map[string]Decimal `json:"extended,omitempty"`
}

// TotalMemory is Flink's ResourceProfile#getTotalMemory: heap + off-heap + managed + network.
func (p Profile) TotalMemory() int64 { return p.TaskHeap + p.TaskOffHeap + p.Managed + p.Network }

// String renders p compactly for people: "cpu 1, heap 1.5 gb, managed 512 mb, gpu 1".
func (p Profile) String() string {
	parts := []string{"cpu " + p.CPU.String()}
	add := func(name string, v int64) {
		if v != 0 {
			parts = append(parts, name+" "+flinkconf.FormatMemorySize(v))
		}
	}
	add("heap", p.TaskHeap)
	add("off-heap", p.TaskOffHeap)
	add("managed", p.Managed)
	add("network", p.Network)
	for _, k := range slices.Sorted(maps.Keys(p.Extended)) {
		parts = append(parts, k+" "+p.Extended[k].String())
	}
	return strings.Join(parts, ", ")
}

// Dimension indexes of a resource vector; extended resources follow in name order.
const (
	dimCPU = iota
	dimHeap
	dimOffHeap
	dimManaged
	dimNetwork
	numFixedDims
)

var fixedDimNames = [numFixedDims]string{"cpu", "taskHeap", "taskOffHeap", "managed", "network"}

// vec is a profile as a dense vector in a space's dimension order. CPU and extended resources
// are Decimal units, memory is bytes.
type vec []int64

// space fixes the dimension layout shared by every vector of one plan.
type space struct {
	ext []string // extended resource names, sorted
}

func newSpace(profiles ...Profile) *space {
	set := map[string]bool{}
	for _, p := range profiles {
		for k, v := range p.Extended {
			if v != 0 {
				set[k] = true
			}
		}
	}
	return &space{ext: slices.Sorted(maps.Keys(set))}
}

func (s *space) dims() int { return numFixedDims + len(s.ext) }

func (s *space) dimName(d int) string {
	if d < numFixedDims {
		return fixedDimNames[d]
	}
	return s.ext[d-numFixedDims]
}

// isDecimal reports whether dimension d holds Decimal units (CPU and extended resources).
func isDecimal(d int) bool { return d == dimCPU || d >= numFixedDims }

func (s *space) vec(p Profile) vec {
	v := make(vec, s.dims())
	v[dimCPU] = int64(p.CPU)
	v[dimHeap] = p.TaskHeap
	v[dimOffHeap] = p.TaskOffHeap
	v[dimManaged] = p.Managed
	v[dimNetwork] = p.Network
	for i, k := range s.ext {
		v[numFixedDims+i] = int64(p.Extended[k])
	}
	return v
}

func (s *space) profile(v vec) Profile {
	p := Profile{CPU: Decimal(v[dimCPU]), TaskHeap: v[dimHeap], TaskOffHeap: v[dimOffHeap], Managed: v[dimManaged], Network: v[dimNetwork]}
	for i, k := range s.ext {
		if v[numFixedDims+i] != 0 {
			if p.Extended == nil {
				p.Extended = map[string]Decimal{}
			}
			p.Extended[k] = Decimal(v[numFixedDims+i])
		}
	}
	return p
}

// fits is ResourceProfile#allFieldsNoLessThan: every dimension of have >= need.
func fits(have, need vec) bool {
	for i, n := range need {
		if have[i] < n {
			return false
		}
	}
	return true
}

// fitCount is how many times need can be subtracted from have (the repeated
// allFieldsNoLessThan/subtract loop of Flink's matching strategies), capped at limit.
func fitCount(have, need vec, limit int) int {
	n := int64(limit)
	for i, x := range need {
		if x <= 0 {
			continue
		}
		if k := have[i] / x; k < n {
			n = k
		}
	}
	if n < 0 {
		return 0
	}
	return int(n)
}

func isZero(v vec) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

func sub(a, b vec) vec {
	out := make(vec, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}

func subInPlace(a, b vec) {
	for i := range a {
		a[i] -= b[i]
	}
}

func addInPlace(a, b vec) {
	for i := range a {
		a[i] += b[i]
	}
}

func scaled(a vec, n int) vec {
	out := make(vec, len(a))
	for i := range a {
		out[i] = a[i] * int64(n)
	}
	return out
}

// divSlots is SlotManagerUtils.generateDefaultSlotResourceProfile: every dimension divided by
// the number of slots, rounding down (BigDecimal scale 16 for CPU/extended, floor for bytes).
func divSlots(total vec, slots int) vec {
	out := make(vec, len(total))
	for i := range total {
		out[i] = total[i] / int64(slots)
	}
	return out
}

// bigVec sums vectors without overflow, for cluster-wide totals.
type bigVec []*big.Int

func newBigVec(n int) bigVec {
	b := make(bigVec, n)
	for i := range b {
		b[i] = new(big.Int)
	}
	return b
}

func (b bigVec) add(v vec, times int) {
	t := big.NewInt(int64(times))
	for i, x := range v {
		b[i].Add(b[i], new(big.Int).Mul(big.NewInt(x), t))
	}
}

// memory is the sum of the four memory dimensions.
func (b bigVec) memory() *big.Int {
	m := new(big.Int)
	for d := dimHeap; d <= dimNetwork; d++ {
		m.Add(m, b[d])
	}
	return m
}

func vecMemory(v vec) int64 { return v[dimHeap] + v[dimOffHeap] + v[dimManaged] + v[dimNetwork] }
