package planner

// fitTree finds the first bin whose free resources cover a slot, in O(log bins) when most bins
// are full in some dimension: a segment tree over bins holding, per node, the component-wise
// maximum of its bins' free resources. A subtree whose maximum does not cover the slot holds
// no fitting bin; one whose maximum does may still hold none (the maxima can come from
// different bins), so the search backtracks, but it never visits a pruned subtree.
type fitTree struct {
	dims int
	size int     // leaves, a power of two
	max  []int64 // node k's maxima at [k*dims, (k+1)*dims); root is node 1
	n    int     // bins in use
}

func newFitTree(dims, capacity int) *fitTree {
	size := 1
	for size < capacity {
		size <<= 1
	}
	return &fitTree{dims: dims, size: size, max: make([]int64, 2*size*dims)}
}

// grow doubles the leaves, keeping the bins.
func (t *fitTree) grow() {
	old := t.size
	nt := newFitTree(t.dims, 2*old)
	for i := 0; i < t.n; i++ {
		leaf := (old + i) * t.dims
		nt.set(i, t.max[leaf:leaf+t.dims])
	}
	nt.n = t.n
	*t = *nt
}

// set records bin i's free resources.
func (t *fitTree) set(i int, free []int64) {
	if i >= t.size {
		t.grow()
	}
	if i >= t.n {
		t.n = i + 1
	}
	k := t.size + i
	copy(t.max[k*t.dims:(k+1)*t.dims], free)
	for k >>= 1; k >= 1; k >>= 1 {
		l, r, m := 2*k*t.dims, (2*k+1)*t.dims, k*t.dims
		for d := 0; d < t.dims; d++ {
			t.max[m+d] = max(t.max[l+d], t.max[r+d])
		}
	}
}

func (t *fitTree) covers(k int, need vec) bool {
	base := k * t.dims
	for d, x := range need {
		if t.max[base+d] < x {
			return false
		}
	}
	return true
}

// first returns the lowest bin index whose free resources cover need, or -1.
func (t *fitTree) first(need vec) int {
	return t.search(1, need)
}

func (t *fitTree) search(k int, need vec) int {
	if !t.covers(k, need) {
		return -1
	}
	if k >= t.size {
		if i := k - t.size; i < t.n {
			return i
		}
		return -1
	}
	if i := t.search(2*k, need); i >= 0 {
		return i
	}
	return t.search(2*k+1, need)
}

// each calls fn for every bin whose free resources cover need, in index order.
func (t *fitTree) each(need vec, fn func(i int)) { t.walk(1, need, fn) }

func (t *fitTree) walk(k int, need vec, fn func(i int)) {
	if !t.covers(k, need) {
		return
	}
	if k >= t.size {
		if i := k - t.size; i < t.n {
			fn(i)
		}
		return
	}
	t.walk(2*k, need, fn)
	t.walk(2*k+1, need, fn)
}
