package memory

import "github.com/flinktune/flinktune/flinkconf"

// minJMHeap is JobManagerOptions.MIN_JVM_HEAP_SIZE: below it Flink only logs a warning.
const minJMHeap = 128 << 20

// jobManager is BashJavaUtils GET_JM_RESOURCE_PARAMS: in 1.x
// JobManagerProcessUtils.processSpecFromConfigWithNewOptionToInterpretLegacyHeap (legacy heap
// mapped to jobmanager.memory.heap.size, errors prefixed), in 2.x processSpecFromConfig
// (no mapping, no prefix). The direct-memory-limit flag is read after the derivation.
func (d *deriver) jobManager(env map[string]string) (*JobManager, *exception) {
	wrap := func(e *exception) *exception {
		if d.profile == Flink1 {
			return wrapICE(prefixJM, e)
		}
		return e
	}
	if d.profile == Flink1 {
		if err := d.mapLegacyHeap(jmLegacyHeap, flinkconf.JMHeapSize, env); err != nil {
			return nil, wrap(err)
		}
	}
	jf := &jmFlink{}
	ps, err := d.process(jmProcessOptions, jf)
	if err != nil {
		return nil, wrap(err)
	}
	limit, _, err := d.cfg.Bool(flinkconf.JMDirectMemoryLimit)
	if err != nil {
		return nil, err
	}
	jm := &JobManager{
		JVMHeap: jf.heap, OffHeap: jf.offHeap,
		JVMMetaspace: ps.metaspace, JVMOverhead: ps.overhead,
		TotalFlink: ps.totalFlink, TotalProcess: ps.totalProcess,
		DirectMemoryLimit: limit, Profile: d.profile,
	}
	if jm.JVMHeap < minJMHeap {
		d.note(StepNote, "Warning: JVM Heap "+HumanBytes(jm.JVMHeap)+" is below the recommended minimum of 128 MiB (Flink only logs this)")
	}
	if limit {
		d.note(StepNote, "jobmanager.memory.enable-jvm-direct-memory-limit is true: -XX:MaxDirectMemorySize is set to the off-heap memory")
	} else {
		d.note(StepNote, "jobmanager.memory.enable-jvm-direct-memory-limit is false (default): the JVM's direct memory is not limited")
	}
	d.record(PoolJVMDirect, jm.OffHeap, sumOf(PoolOffHeap))
	jm.Sources, jm.Steps = d.sources, d.steps
	return jm, nil
}

// jmFlink derives a JobManager's Flink memory (JobManagerFlinkMemoryUtils).
type jmFlink struct {
	heap, offHeap int64
}

func (f *jmFlink) fromFineGrained(d *deriver) (int64, *exception) {
	var err *exception
	if f.heap, err = d.readSize(PoolJVMHeap, flinkconf.JMHeapSize); err != nil {
		return 0, err
	}
	var offSrc Source
	if f.offHeap, offSrc, err = d.size(flinkconf.JMOffHeapSize); err != nil {
		return 0, err
	}
	if !d.configured(flinkconf.JMFlinkSize) {
		d.record(PoolOffHeap, f.offHeap, offSrc)
		total, err := sum(f.heap, f.offHeap)
		if err != nil {
			return 0, err
		}
		d.record(PoolTotalFlink, total, sumOf(PoolJVMHeap, PoolOffHeap))
		return total, nil
	}
	total, err := d.readSize(PoolTotalFlink, flinkconf.JMFlinkSize)
	if err != nil {
		return 0, err
	}
	if d.configured(flinkconf.JMOffHeapSize) {
		s, err := sum(f.heap, f.offHeap)
		if err != nil {
			return 0, err
		}
		if s != total {
			return 0, errJMHeapOffHeapMismatch(f.heap, f.offHeap, total)
		}
		d.record(PoolOffHeap, f.offHeap, offSrc)
		d.note(StepCheck, "Check: JVM Heap + Off-Heap Memory = Total Flink Memory "+HumanBytes(total))
		return total, nil
	}
	// Off-heap is not set: it is what total Flink memory leaves; its default is ignored.
	if total < f.heap {
		return 0, errJMHeapExceedsFlink(f.heap, total)
	}
	f.offHeap = total - f.heap
	d.record(PoolOffHeap, f.offHeap, remainder(PoolTotalFlink, PoolJVMHeap))
	return total, nil
}

func (f *jmFlink) fromTotalFlink(d *deriver, total int64) *exception {
	var err *exception
	if f.offHeap, err = d.readSize(PoolOffHeap, flinkconf.JMOffHeapSize); err != nil {
		return err
	}
	if total <= f.offHeap {
		return errJMFlinkLessThanOffHeap(total, f.offHeap)
	}
	f.heap = total - f.offHeap
	d.record(PoolJVMHeap, f.heap, remainder(PoolTotalFlink, PoolOffHeap))
	return nil
}
