package planner

import "math"

// javaPQ is java.util.PriorityQueue with a Comparator.comparingDouble over each TaskManager's
// utilization: the same binary heap, sift-up and sift-down, so that ties between equally
// utilized TaskManagers resolve exactly as Flink's LeastUtilizationResourceMatchingStrategy
// resolves them (by heap position, not by any documented rule).
type javaPQ struct {
	es []*tmRes
}

// javaDoubleCompare is Double.compare: NaN is greater than everything and equal to itself, and
// −0.0 < 0.0.
func javaDoubleCompare(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	as, bs := math.Signbit(a), math.Signbit(b)
	switch {
	case as == bs:
		return 0
	case as:
		return -1
	default:
		return 1
	}
}

func (q *javaPQ) cmp(a, b *tmRes) int { return javaDoubleCompare(a.util, b.util) }

func (q *javaPQ) len() int { return len(q.es) }

// offer is PriorityQueue#offer: append, then sift up.
func (q *javaPQ) offer(x *tmRes) {
	q.es = append(q.es, x)
	k := len(q.es) - 1
	for k > 0 {
		parent := (k - 1) >> 1
		e := q.es[parent]
		if q.cmp(x, e) >= 0 {
			break
		}
		q.es[k] = e
		k = parent
	}
	q.es[k] = x
}

// poll is PriorityQueue#poll: take the root, move the last element to the root, sift down.
func (q *javaPQ) poll() *tmRes {
	if len(q.es) == 0 {
		return nil
	}
	result := q.es[0]
	n := len(q.es) - 1
	x := q.es[n]
	q.es = q.es[:n]
	if n > 0 {
		k, half := 0, n>>1
		for k < half {
			child := 2*k + 1
			c := q.es[child]
			if right := child + 1; right < n && q.cmp(c, q.es[right]) > 0 {
				child = right
				c = q.es[child]
			}
			if q.cmp(x, c) <= 0 {
				break
			}
			q.es[k] = c
			k = child
		}
		q.es[k] = x
	}
	return result
}
