package memory

// Node is one pool in the layout of Flink's memory diagram: a pool and the pools it is made of.
type Node struct {
	Pool     string
	Title    string
	Bytes    int64
	Source   Source
	Children []Node
}

func leaf(sources map[string]Source, pool string, bytes int64, children ...Node) Node {
	return Node{Pool: pool, Title: PoolTitle(pool), Bytes: bytes, Source: sources[pool], Children: children}
}

// Breakdown arranges the TaskManager's pools as Flink's documentation draws them:
//
//	Total Process Memory
//	├─ Total Flink Memory
//	│  ├─ JVM Heap: Framework Heap, Task Heap
//	│  └─ Off-Heap Memory: Managed Memory, JVM Direct Memory (Framework Off-Heap, Task Off-Heap, Network)
//	├─ JVM Metaspace
//	└─ JVM Overhead
func (t *TaskManager) Breakdown() Node {
	s := t.Sources
	direct := leaf(s, PoolJVMDirect, t.JVMDirect(),
		leaf(s, PoolFrameworkOffHeap, t.FrameworkOffHeap),
		leaf(s, PoolTaskOffHeap, t.TaskOffHeap),
		leaf(s, PoolNetwork, t.Network))
	offHeap := Node{Pool: PoolOffHeap, Title: PoolTitle(PoolOffHeap), Bytes: t.Managed + direct.Bytes,
		Source:   sumOf(PoolManaged, PoolJVMDirect),
		Children: []Node{leaf(s, PoolManaged, t.Managed), direct}}
	heap := leaf(s, PoolJVMHeap, t.JVMHeap(), leaf(s, PoolFrameworkHeap, t.FrameworkHeap), leaf(s, PoolTaskHeap, t.TaskHeap))
	return leaf(s, PoolTotalProcess, t.TotalProcess,
		leaf(s, PoolTotalFlink, t.TotalFlink, heap, offHeap),
		leaf(s, PoolJVMMetaspace, t.JVMMetaspace),
		leaf(s, PoolJVMOverhead, t.JVMOverhead))
}

// Breakdown arranges the JobManager's pools as Flink's documentation draws them.
func (j *JobManager) Breakdown() Node {
	s := j.Sources
	return leaf(s, PoolTotalProcess, j.TotalProcess,
		leaf(s, PoolTotalFlink, j.TotalFlink, leaf(s, PoolJVMHeap, j.JVMHeap), leaf(s, PoolOffHeap, j.OffHeap)),
		leaf(s, PoolJVMMetaspace, j.JVMMetaspace),
		leaf(s, PoolJVMOverhead, j.JVMOverhead))
}
