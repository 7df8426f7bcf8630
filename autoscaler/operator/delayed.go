package operator

import (
	"errors"
	"time"
)

// RecommendedParallelism is one scale-down recommendation kept while a scale-down is delayed.
type RecommendedParallelism struct {
	TriggerTime             time.Time `json:"triggerTime"`
	Parallelism             int       `json:"parallelism"`
	OutsideUtilizationBound bool      `json:"outsideUtilizationBound"`
}

// VertexDelayedScaleDown is a vertex's pending scale-down: when it was first recommended and
// the recommendations of the last interval, kept monotonically decreasing so that the first
// one is the window maximum.
type VertexDelayedScaleDown struct {
	FirstTriggerTime time.Time                `json:"firstTriggerTime"`
	Recommended      []RecommendedParallelism `json:"recommendedParallelisms"`
}

// record appends a recommendation after evicting the trailing ones it dominates (<=; an
// equal one is replaced to refresh its trigger time).
func (v *VertexDelayedScaleDown) record(t time.Time, p int, outside bool) {
	for len(v.Recommended) > 0 && v.Recommended[len(v.Recommended)-1].Parallelism <= p {
		v.Recommended = v.Recommended[:len(v.Recommended)-1]
	}
	v.Recommended = append(v.Recommended, RecommendedParallelism{t, p, outside})
}

// maxRecommended evicts the recommendations triggered before windowStart and returns the
// largest remaining one.
func (v *VertexDelayedScaleDown) maxRecommended(windowStart time.Time) (RecommendedParallelism, error) {
	for len(v.Recommended) > 0 && v.Recommended[0].TriggerTime.Before(windowStart) {
		v.Recommended = v.Recommended[1:]
	}
	if len(v.Recommended) == 0 {
		return RecommendedParallelism{}, errors.New("The getMaxRecommendedParallelism should be called after triggering a scale down, it may be a bug.")
	}
	return v.Recommended[0], nil
}

// DelayedScaleDown holds every vertex's pending scale-down (the operator's DelayedScaleDown).
type DelayedScaleDown struct {
	Vertices map[string]*VertexDelayedScaleDown `json:"delayedVertices"`
	updated  bool
}

// NewDelayedScaleDown returns an empty set.
func NewDelayedScaleDown() *DelayedScaleDown {
	return &DelayedScaleDown{Vertices: map[string]*VertexDelayedScaleDown{}}
}

// trigger records a scale-down recommendation and returns the vertex's pending state.
func (d *DelayedScaleDown) trigger(vertex string, t time.Time, p int, outside bool) *VertexDelayedScaleDown {
	d.updated = true
	v := d.Vertices[vertex]
	if v == nil {
		v = &VertexDelayedScaleDown{FirstTriggerTime: t}
		d.Vertices[vertex] = v
	}
	v.record(t, p, outside)
	return v
}

// clearVertex drops a vertex's pending scale-down (its recommendation is >= current).
func (d *DelayedScaleDown) clearVertex(vertex string) {
	if _, ok := d.Vertices[vertex]; ok {
		delete(d.Vertices, vertex)
		d.updated = true
	}
}

// clearAll drops every pending scale-down (after a rescale).
func (d *DelayedScaleDown) clearAll() {
	if len(d.Vertices) == 0 {
		return
	}
	d.Vertices = map[string]*VertexDelayedScaleDown{}
	d.updated = true
}
