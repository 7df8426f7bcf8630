// Package batch reproduces how Flink's adaptive batch scheduler decides a vertex's parallelism
// from the data volume it consumes (DefaultVertexParallelismAndInputInfosDecider, Flink
// 1.17–1.20, before the 2.0 refactor), and which partitions and subpartitions each subtask then
// reads; plus the 1.15/1.16 power-of-two decider.
package batch

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// MaxSubpartitionsPerTask is MAX_NUM_SUBPARTITIONS_PER_TASK_CONSUME: a task reads at most this
// many subpartitions of one result.
const MaxSubpartitionsPerTask = 32768

// Config holds the adaptive batch scheduler's global settings.
type Config struct {
	MinParallelism    int
	MaxParallelism    int
	DataVolumePerTask int64
	// DefaultSourceParallelism is the parallelism of sources without one; 0 = unset, which
	// from 1.19 on means MaxParallelism.
	DefaultSourceParallelism int
}

// Type is an input's distribution pattern.
type Type int

const (
	AllToAll Type = iota
	Pointwise
)

func (t Type) String() string {
	if t == Pointwise {
		return "pointwise"
	}
	return "all_to_all"
}

// Input is one consumed blocking result: its pattern, partition and subpartition counts, and
// the bytes of every subpartition of every partition.
type Input struct {
	Name          string
	Type          Type
	Broadcast     bool
	Partitions    int
	Subpartitions int
	// Exactly one of the byte sources is used: Bytes[p][s] explicitly; Uniform bytes in every
	// subpartition; or Total spread evenly (remainder to the first cells).
	Bytes      [][]int64
	Uniform    int64
	HasUniform bool
	Total      int64
}

// cell is the bytes of subpartition s of partition p.
func (in *Input) cell(p, s int) int64 {
	switch {
	case in.Bytes != nil:
		return in.Bytes[p][s]
	case in.HasUniform:
		return in.Uniform
	}
	cells := int64(in.Partitions) * int64(in.Subpartitions)
	if cells == 0 {
		return 0
	}
	base, rem := in.Total/cells, in.Total%cells
	if int64(p)*int64(in.Subpartitions)+int64(s) < rem {
		return base + 1
	}
	return base
}

// NumBytes is BlockingResultInfo#getNumBytesProduced: every byte of the result.
func (in *Input) NumBytes() int64 {
	switch {
	case in.Bytes != nil:
		var n int64
		for _, row := range in.Bytes {
			for _, b := range row {
				n += b
			}
		}
		return n
	case in.HasUniform:
		return in.Uniform * int64(in.Partitions) * int64(in.Subpartitions)
	}
	return in.Total
}

// Vertex is a job vertex to decide.
type Vertex struct {
	Name string
	// InitialParallelism is the parallelism set on the vertex, or -1 (decide it).
	InitialParallelism int
	MaxParallelism     int
	Inputs             []Input
}

// Range is an inclusive index range.
type Range [2]int

// SubtaskInput is what one subtask reads of one input (ExecutionVertexInputInfo).
type SubtaskInput struct {
	Partitions    Range `json:"partitions"`
	Subpartitions Range `json:"subpartitions"`
}

// Decision is a vertex's parallelism and, per input, what each subtask reads.
type Decision struct {
	Parallelism int
	// Path: "source", "evenly distribute data", "evenly distribute subpartitions", or
	// "evenly distribute subpartitions (fallback)".
	Path       string
	InputInfos [][]SubtaskInput
}

// Paths of the decision.
const (
	PathSource       = "source"
	PathData         = "evenly distribute data"
	PathSubpartition = "evenly distribute subpartitions"
	PathFallback     = "evenly distribute subpartitions (no legal parallelism evenly distributes the data)"
)

// Validate checks what Flink's decider checks of its settings (preconditions in its constructor).
func (c Config) Validate() error {
	switch {
	case c.MinParallelism <= 0:
		return fmt.Errorf("The minimum parallelism must be larger than 0.")
	case c.MaxParallelism < c.MinParallelism:
		return fmt.Errorf("Maximum parallelism should be greater than or equal to the minimum parallelism.")
	case c.DefaultSourceParallelism < 0:
		return fmt.Errorf("The default source parallelism must be larger than 0.")
	case c.DataVolumePerTask <= 0:
		return fmt.Errorf("the data volume per task must be larger than 0")
	}
	return nil
}

// DecideVertex is decideParallelismAndInputInfosForVertex.
func DecideVertex(c Config, v Vertex) (Decision, error) {
	if v.InitialParallelism != -1 && v.InitialParallelism <= 0 {
		return Decision{}, fmt.Errorf("vertex %s: parallelism %d must be positive (or -1 to decide it)", v.Name, v.InitialParallelism)
	}
	if v.MaxParallelism <= 0 || v.MaxParallelism < v.InitialParallelism {
		return Decision{}, fmt.Errorf("vertex %s: max parallelism %d must be positive and at least its parallelism %d", v.Name, v.MaxParallelism, v.InitialParallelism)
	}
	if len(v.Inputs) == 0 {
		p := v.InitialParallelism
		if p <= 0 {
			src := c.DefaultSourceParallelism
			if src == 0 {
				src = c.MaxParallelism
			}
			p = min(src, v.MaxParallelism)
		}
		return Decision{Parallelism: p, Path: PathSource}, nil
	}
	minP, maxP := c.MinParallelism, c.MaxParallelism
	decide := v.InitialParallelism == -1
	if decide && v.MaxParallelism < minP {
		minP = v.MaxParallelism
	}
	if decide && v.MaxParallelism < maxP {
		maxP = v.MaxParallelism
	}
	if maxP < minP {
		return Decision{}, fmt.Errorf("vertex %s: max parallelism %d is below the min parallelism %d", v.Name, maxP, minP)
	}
	allToAll, allBroadcast := true, true
	for _, in := range v.Inputs {
		allToAll = allToAll && in.Type == AllToAll
		allBroadcast = allBroadcast && in.Broadcast
	}
	if decide && allToAll && !allBroadcast {
		return c.evenlyDistributeData(v, minP, maxP)
	}
	return c.evenlyDistributeSubpartitions(v, minP, maxP, PathSubpartition)
}

func (c Config) evenlyDistributeSubpartitions(v Vertex, minP, maxP int, path string) (Decision, error) {
	p := v.InitialParallelism
	if p <= 0 {
		p = c.DecideParallelism(v.Inputs, minP, maxP)
	}
	infos, err := computeVertexInputInfos(p, v.Inputs)
	if err != nil {
		return Decision{}, fmt.Errorf("vertex %s: %w", v.Name, err)
	}
	return Decision{Parallelism: p, Path: path, InputInfos: infos}, nil
}

// DecideParallelism is decideParallelism: ⌈non-broadcast bytes / data volume per task⌉, at
// least ⌈max subpartitions of one result / 32768⌉, clamped to [minP, maxP]; minP without
// non-broadcast inputs. Broadcast bytes are ignored.
func (c Config) DecideParallelism(inputs []Input, minP, maxP int) int {
	var total int64
	maxSub, any := 0, false
	for i := range inputs {
		in := &inputs[i]
		if in.Broadcast {
			continue
		}
		any = true
		total += in.NumBytes()
		maxSub = max(maxSub, in.Partitions*in.Subpartitions)
	}
	if !any {
		return minP
	}
	// Java: (int) Math.ceil((double) totalBytes / dataVolumePerTask).
	p := javaIntCast(math.Ceil(float64(total) / float64(c.DataVolumePerTask)))
	p = max(p, javaIntCast(math.Ceil(float64(maxSub)/MaxSubpartitionsPerTask)))
	switch {
	case p < minP:
		p = minP
	case p > maxP:
		p = maxP
	}
	return p
}

// javaIntCast is Java's (int) of a double: saturating, NaN → 0.
func javaIntCast(f float64) int {
	switch {
	case f != f:
		return 0
	case f >= math.MaxInt32:
		return math.MaxInt32
	case f <= math.MinInt32:
		return math.MinInt32
	}
	return int(f)
}

func (c Config) evenlyDistributeData(v Vertex, minP, maxP int) (Decision, error) {
	var nonB []*Input
	for i := range v.Inputs {
		if !v.Inputs[i].Broadcast {
			nonB = append(nonB, &v.Inputs[i])
		}
	}
	n := nonB[0].Subpartitions
	maxPartitions := 0
	for _, in := range nonB {
		if in.Subpartitions != n {
			return Decision{}, fmt.Errorf("vertex %s: all non-broadcast inputs must have the same number of subpartitions (Flink checks this), got %d and %d", v.Name, n, in.Subpartitions)
		}
		maxPartitions = max(maxPartitions, in.Partitions)
	}
	bytes := make([]int64, n)
	for _, in := range nonB {
		for p := 0; p < in.Partitions; p++ {
			for s := 0; s < n; s++ {
				bytes[s] += in.cell(p, s)
			}
		}
	}
	maxRange := MaxSubpartitionsPerTask / maxPartitions
	ranges := computeRanges(bytes, c.DataVolumePerTask, maxRange)
	if !legal(len(ranges), minP, maxP) {
		var sum int64
		for _, b := range bytes {
			sum += b
		}
		adjusted, ok := adjustToClosestLegalParallelism(c.DataVolumePerTask, len(ranges), minP, maxP, slices.Min(bytes), sum,
			func(limit int64) int { return countRanges(bytes, limit, maxRange) })
		if !ok {
			return c.evenlyDistributeSubpartitions(v, minP, maxP, PathFallback)
		}
		ranges = computeRanges(bytes, adjusted, maxRange)
	}
	infos := make([][]SubtaskInput, len(v.Inputs))
	for i, in := range v.Inputs {
		parts := Range{0, in.Partitions - 1}
		for _, r := range ranges {
			sub := r
			if in.Broadcast {
				sub = Range{0, 0}
			}
			infos[i] = append(infos[i], SubtaskInput{Partitions: parts, Subpartitions: sub})
		}
	}
	return Decision{Parallelism: len(ranges), Path: PathData, InputInfos: infos}, nil
}

func legal(p, minP, maxP int) bool { return p >= minP && p <= maxP }

// computeRanges is computeSubpartitionRanges: scan the subpartitions, closing a range when the
// next one would exceed limit bytes or maxRange subpartitions (a range always takes its first).
func computeRanges(nums []int64, limit int64, maxRange int) []Range {
	var out []Range
	var sum int64
	start := 0
	for i, x := range nums {
		if i == start || (sum+x <= limit && i-start+1 <= maxRange) {
			sum += x
		} else {
			out = append(out, Range{start, i - 1})
			start, sum = i, x
		}
	}
	return append(out, Range{start, len(nums) - 1})
}

func countRanges(nums []int64, limit int64, maxRange int) int {
	var sum int64
	start, count := 0, 1
	for i, x := range nums {
		if i == start || (sum+x <= limit && i-start+1 <= maxRange) {
			sum += x
		} else {
			start, sum = i, x
			count++
		}
	}
	return count
}

// adjustToClosestLegalParallelism is Flink's search for a data-volume limit that yields a legal
// parallelism: below the minimum, the largest limit still giving >= minP ranges, then the
// smallest limit giving that same count (more even); above the maximum, the smallest limit
// giving <= maxP ranges.
func adjustToClosestLegalParallelism(current int64, currentP, minP, maxP int, minLimit, maxLimit int64, parallelism func(int64) int) (int64, bool) {
	limit := current
	if currentP < minP {
		limit = findMaxLegalValue(func(v int64) bool { return parallelism(v) >= minP }, minLimit, current)
		minPossible := parallelism(limit)
		limit = findMinLegalValue(func(v int64) bool { return parallelism(v) == minPossible }, minLimit, limit)
	} else if currentP > maxP {
		limit = findMinLegalValue(func(v int64) bool { return parallelism(v) <= maxP }, current, maxLimit)
	}
	return limit, legal(parallelism(limit), minP, maxP)
}

// findMinLegalValue is BisectionSearchUtils.findMinLegalValue: −1 if !ok(high), else the first
// ok value in [low, high] (ok is monotone).
func findMinLegalValue(ok func(int64) bool, low, high int64) int64 {
	if !ok(high) {
		return -1
	}
	for low <= high {
		mid := (low + high) / 2 // Java's int arithmetic
		if ok(mid) {
			high = mid - 1
		} else {
			low = mid + 1
		}
	}
	return high + 1
}

// findMaxLegalValue is BisectionSearchUtils.findMaxLegalValue: −1 if !ok(low), else the last
// ok value in [low, high].
func findMaxLegalValue(ok func(int64) bool, low, high int64) int64 {
	if !ok(low) {
		return -1
	}
	for low <= high {
		mid := (low + high) / 2 // Java's int arithmetic
		if ok(mid) {
			low = mid + 1
		} else {
			high = mid - 1
		}
	}
	return low - 1
}

// computeVertexInputInfos is VertexInputInfoComputationUtils.computeVertexInputInfos for a
// dynamic graph: subpartitions split evenly among consumers.
func computeVertexInputInfos(p int, inputs []Input) ([][]SubtaskInput, error) {
	out := make([][]SubtaskInput, len(inputs))
	for i, in := range inputs {
		var err error
		if in.Type == Pointwise {
			out[i], err = pointwiseInfos(in.Partitions, p, in.Subpartitions)
		} else {
			out[i], err = allToAllInfos(in.Partitions, p, in.Subpartitions, in.Broadcast)
		}
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", in.Name, err)
		}
	}
	return out, nil
}

// consumedRange is computeConsumedSubpartitionRange for a dynamic graph.
func consumedRange(consumer, numConsumers, numSubpartitions int, broadcast bool) (Range, error) {
	idx := consumer % numConsumers
	if broadcast {
		if numSubpartitions != 1 {
			return Range{}, fmt.Errorf("a broadcast result must have exactly 1 subpartition per partition, got %d (Flink: IllegalArgumentException)", numSubpartitions)
		}
		return Range{0, 0}, nil
	}
	if numConsumers > numSubpartitions {
		return Range{}, fmt.Errorf("%d consumers cannot share %d subpartitions (Flink: IllegalArgumentException; the upstream needs at least as many subpartitions as the consumer's parallelism)", numConsumers, numSubpartitions)
	}
	start := idx * numSubpartitions / numConsumers
	next := (idx + 1) * numSubpartitions / numConsumers
	return Range{start, next - 1}, nil
}

func allToAllInfos(sources, targets, numSubpartitions int, broadcast bool) ([]SubtaskInput, error) {
	out := make([]SubtaskInput, targets)
	for i := range out {
		r, err := consumedRange(i, targets, numSubpartitions, broadcast)
		if err != nil {
			return nil, err
		}
		out[i] = SubtaskInput{Partitions: Range{0, sources - 1}, Subpartitions: r}
	}
	return out, nil
}

func pointwiseInfos(sources, targets, numSubpartitions int) ([]SubtaskInput, error) {
	out := make([]SubtaskInput, 0, targets)
	if sources >= targets {
		for i := 0; i < targets; i++ {
			start := i * sources / targets
			end := (i + 1) * sources / targets
			r, err := consumedRange(i, 1, numSubpartitions, false)
			if err != nil {
				return nil, err
			}
			out = append(out, SubtaskInput{Partitions: Range{start, end - 1}, Subpartitions: r})
		}
		return out, nil
	}
	for part := 0; part < sources; part++ {
		start := (part*targets + sources - 1) / sources
		end := ((part+1)*targets + sources - 1) / sources
		for i := start; i < end; i++ {
			r, err := consumedRange(i, end-start, numSubpartitions, false)
			if err != nil {
				return nil, err
			}
			out = append(out, SubtaskInput{Partitions: Range{part, part}, Subpartitions: r})
		}
	}
	return out, nil
}

// DecideLegacyPow2 is the 1.15/1.16 DefaultVertexParallelismDecider: broadcast bytes capped at
// half the data volume per task, p0 = ⌈non-broadcast / (dv − broadcast)⌉, rounded to the
// nearer power of two (up on a tie), clamped to [roundUpPow2(min), roundDownPow2(max)].
func DecideLegacyPow2(c Config, inputs []Input) int {
	var broadcast, nonBroadcast int64
	for i := range inputs {
		if inputs[i].Broadcast {
			broadcast += inputs[i].NumBytes()
		} else {
			nonBroadcast += inputs[i].NumBytes()
		}
	}
	broadcast = min(broadcast, c.DataVolumePerTask/2)
	p0 := javaIntCast(math.Ceil(float64(nonBroadcast) / float64(c.DataVolumePerTask-broadcast)))
	p := 1
	if p0 > 1 {
		down := 1 << (bits.Len(uint(p0)) - 1)
		up := down << 1
		if float64(p0) < float64(down+up)/2 {
			p = down
		} else {
			p = up
		}
		if down == p0 {
			p = down
		}
	}
	lo, hi := roundUpPow2(c.MinParallelism), roundDownPow2(c.MaxParallelism)
	return min(max(p, lo), hi)
}

func roundUpPow2(x int) int {
	n := 1
	for n < x {
		n <<= 1
	}
	return n
}

func roundDownPow2(x int) int {
	if x < 1 {
		return 1
	}
	return 1 << (bits.Len(uint(x)) - 1)
}
