package memory

import (
	"math"
	"slices"

	"github.com/flinktune/flinktune/flinkconf"
)

// minPageSize is MemoryManager.MIN_PAGE_SIZE.
const minPageSize = 4096

// taskManager is BashJavaUtils GET_TM_RESOURCE_PARAMS: legacy heap mapping (1.x), then
// TaskExecutorProcessUtils.processSpecFromConfig.
func (d *deriver) taskManager(env map[string]string) (*TaskManager, *exception) {
	if d.profile == Flink1 {
		if err := d.mapLegacyHeap(tmLegacyHeap, flinkconf.TMFlinkSize, env); err != nil {
			return nil, wrapICE(prefixTMLegacy, err)
		}
	}
	tf := &tmFlink{}
	ps, err := d.process(tmProcessOptions, tf)
	tm := &TaskManager{Profile: d.profile}
	if err == nil {
		err = d.cpuAndSlots(tm)
	}
	if err != nil {
		return nil, wrapICE(prefixTM, err)
	}
	tm.FrameworkHeap, tm.FrameworkOffHeap = tf.fwH, tf.fwO
	tm.TaskHeap, tm.TaskOffHeap = tf.tH, tf.tO
	tm.Managed, tm.Network = tf.m, tf.n
	tm.JVMMetaspace, tm.JVMOverhead = ps.metaspace, ps.overhead
	tm.TotalFlink, tm.TotalProcess = ps.totalFlink, ps.totalProcess
	d.record(PoolJVMHeap, tm.JVMHeap(), sumOf(PoolFrameworkHeap, PoolTaskHeap))
	d.record(PoolJVMDirect, tm.JVMDirect(), sumOf(PoolFrameworkOffHeap, PoolTaskOffHeap, PoolNetwork))
	tm.Sources, tm.Steps = d.sources, d.steps
	return tm, nil
}

// cpuAndSlots is TaskExecutorProcessUtils.getCpuCores and getNumSlots, read after the memory.
func (d *deriver) cpuAndSlots(tm *TaskManager) *exception {
	var cores float64
	var text string
	if d.cfg.IsConfigured(flinkconf.TMCPUCores) {
		v, _, err := d.cfg.Double(flinkconf.TMCPUCores)
		if err != nil {
			return err
		}
		cores = v
		text = "configured " + d.sourceOf(flinkconf.TMCPUCores).configText()
	} else {
		slots, _, err := d.cfg.Int(flinkconf.TMNumberOfTaskSlots)
		if err != nil {
			return err
		}
		cores = float64(slots)
		text = "taskmanager.cpu.cores is not set: one core per slot (taskmanager.numberOfTaskSlots)"
	}
	if cores <= 0 {
		return errCPUCores()
	}
	if math.IsNaN(cores) || math.IsInf(cores, 0) {
		// CPUResource holds a BigDecimal.valueOf(cores), which rejects NaN and Infinity.
		return flinkconf.NewException(flinkconf.ClassNumberFormat, "Character "+flinkconf.JavaDoubleString(cores)[:1]+
			" is neither a decimal digit number, decimal point, nor \"e\" notation exponential mark.", nil)
	}
	slots, _, err := d.cfg.Int(flinkconf.TMNumberOfTaskSlots)
	if err != nil {
		return err
	}
	tm.CPUCores, tm.NumSlots = cores, int(slots)
	d.note(StepNote, "CPU cores = "+flinkconf.JavaDoubleString(cores)+": "+text+"; task slots = "+itoa(int64(slots)))
	return nil
}

// tmFlink derives a TaskExecutor's Flink memory (TaskExecutorFlinkMemoryUtils).
type tmFlink struct {
	fwH, fwO, tH, tO, m, n int64
}

func (f *tmFlink) readFixed(d *deriver) *exception {
	var err *exception
	if f.fwH, err = d.readSize(PoolFrameworkHeap, flinkconf.TMFrameworkHeap); err != nil {
		return err
	}
	if f.fwO, err = d.readSize(PoolFrameworkOffHeap, flinkconf.TMFrameworkOffHeap); err != nil {
		return err
	}
	f.tO, err = d.readSize(PoolTaskOffHeap, flinkconf.TMTaskOffHeap)
	return err
}

var poolsExceptNetwork = []string{PoolFrameworkHeap, PoolFrameworkOffHeap, PoolTaskHeap, PoolTaskOffHeap, PoolManaged}

func (f *tmFlink) fromFineGrained(d *deriver) (int64, *exception) {
	var err *exception
	if f.tH, err = d.readSize(PoolTaskHeap, flinkconf.TMTaskHeap); err != nil {
		return 0, err
	}
	if f.m, err = d.readSize(PoolManaged, flinkconf.TMManagedSize); err != nil {
		return 0, err
	}
	if err = f.readFixed(d); err != nil {
		return 0, err
	}
	exceptNetwork, err := sum(f.fwH, f.fwO, f.tH, f.tO, f.m)
	if err != nil {
		return 0, err
	}
	if d.configured(flinkconf.TMFlinkSize) {
		total, err := d.readSize(PoolTotalFlink, flinkconf.TMFlinkSize)
		if err != nil {
			return 0, err
		}
		if exceptNetwork > total {
			return 0, errSumWithTaskHeapExceeds(f.fwH, f.fwO, f.tH, f.tO, f.m, total)
		}
		f.n = total - exceptNetwork
		d.record(PoolNetwork, f.n, remainder(slices.Concat([]string{PoolTotalFlink}, poolsExceptNetwork)...))
		if err := d.checkNetwork(f.n); err != nil {
			return 0, err
		}
		return total, nil
	}
	var src Source
	if d.legacyNetwork() {
		f.n, src, err = d.legacyNetworkSize()
	} else {
		var rf rangeFraction
		if rf, err = d.networkRange(); err == nil {
			f.n, src, err = inverseFraction(PoolTotalFlink, poolsExceptNetwork, exceptNetwork, rf)
		}
	}
	if err != nil {
		return 0, err
	}
	d.record(PoolNetwork, f.n, src)
	total, err := sum(exceptNetwork, f.n)
	if err != nil {
		return 0, err
	}
	d.record(PoolTotalFlink, total, sumOf(slices.Concat(poolsExceptNetwork, []string{PoolNetwork})...))
	return total, nil
}

func (f *tmFlink) fromTotalFlink(d *deriver, total int64) *exception {
	err := f.readFixed(d)
	if err != nil {
		return err
	}
	if d.configured(flinkconf.TMTaskHeap) {
		// Task heap is fixed: managed memory comes next and network memory is what remains.
		if f.tH, err = d.readSize(PoolTaskHeap, flinkconf.TMTaskHeap); err != nil {
			return err
		}
		if err = f.managed(d, total); err != nil {
			return err
		}
		exceptNetwork, err := sum(f.fwH, f.fwO, f.tH, f.tO, f.m)
		if err != nil {
			return err
		}
		if exceptNetwork > total {
			return errSumWithTaskHeapExceeds(f.fwH, f.fwO, f.tH, f.tO, f.m, total)
		}
		f.n = total - exceptNetwork
		d.record(PoolNetwork, f.n, remainder(slices.Concat([]string{PoolTotalFlink}, poolsExceptNetwork)...))
		return d.checkNetwork(f.n)
	}
	if err = f.managed(d, total); err != nil {
		return err
	}
	var src Source
	if d.legacyNetwork() {
		f.n, src, err = d.legacyNetworkSize()
	} else {
		var rf rangeFraction
		if rf, err = d.networkRange(); err == nil {
			f.n, src, err = ofFraction(PoolTotalFlink, []string{PoolTotalFlink}, total, rf)
		}
	}
	if err != nil {
		return err
	}
	d.record(PoolNetwork, f.n, src)
	exceptTaskHeap, err := sum(f.fwH, f.fwO, f.tO, f.m, f.n)
	if err != nil {
		return err
	}
	if exceptTaskHeap > total {
		return errSumWithNetworkExceeds(f.fwH, f.fwO, f.tO, f.m, f.n, total)
	}
	f.tH = total - exceptTaskHeap
	d.record(PoolTaskHeap, f.tH, remainder(PoolTotalFlink, PoolFrameworkHeap, PoolFrameworkOffHeap, PoolTaskOffHeap, PoolManaged, PoolNetwork))
	return nil
}

// managed is deriveManagedMemoryAbsoluteOrWithFraction.
func (f *tmFlink) managed(d *deriver, total int64) *exception {
	var err *exception
	if d.configured(flinkconf.TMManagedSize) {
		f.m, err = d.readSize(PoolManaged, flinkconf.TMManagedSize)
		return err
	}
	rf, err := d.managedRange()
	if err != nil {
		return err
	}
	m, src, err := ofFraction(PoolTotalFlink, []string{PoolTotalFlink}, total, rf)
	if err != nil {
		return err
	}
	f.m = m
	d.record(PoolManaged, m, src)
	return nil
}

func (d *deriver) networkRange() (rangeFraction, *exception) {
	return d.readRange(flinkconf.TMNetworkMin, flinkconf.TMNetworkMax, flinkconf.TMNetworkFraction)
}

// legacyNetwork reports whether network memory is the legacy buffer count times the page size:
// numberOfBuffers is set and no network min, max or fraction (or their deprecated keys) is.
// Flink 2.x removed this path (getNetworkMemorySizeWithLegacyConfig): numberOfBuffers is ignored.
func (d *deriver) legacyNetwork() bool {
	if d.profile == Flink2 {
		return false
	}
	if d.cfg.IsConfigured(flinkconf.TMNetworkMin) || d.cfg.IsConfigured(flinkconf.TMNetworkMax) ||
		d.cfg.IsConfigured(flinkconf.TMNetworkFraction) {
		return false
	}
	return d.cfg.IsConfigured(flinkconf.TMNumberOfBuffers)
}

// legacyNetworkSize is numberOfBuffers × ConfigurationParserUtils.getPageSize.
func (d *deriver) legacyNetworkSize() (int64, Source, *exception) {
	buffers, _, err := d.cfg.Int(flinkconf.TMNumberOfBuffers)
	if err != nil {
		return 0, Source{}, err
	}
	// getPageSize reads the option directly: a parse error is not wrapped as a memory error.
	page, _, err := d.cfg.MemorySize(flinkconf.TMSegmentSize)
	if err != nil {
		return 0, Source{}, err
	}
	if int64(int32(page)) != page {
		return 0, Source{}, iae("Cannot downcast long value " + itoa(page) + " to integer.")
	}
	if page < minPageSize {
		return 0, Source{}, errSegmentSize(page, "Minimum memory segment size is 4096")
	}
	if page&(page-1) != 0 {
		return 0, Source{}, errSegmentSize(page, "Memory segment size must be a power of 2.")
	}
	n := int64(buffers) * page
	if n < 0 {
		return 0, Source{}, iae("bytes must be >= 0")
	}
	return n, Source{Kind: SourceBuffers, Buffers: int64(buffers), PageSize: page}, nil
}

// checkNetwork is sanityCheckNetworkMemoryWithExplicitlySetTotalFlinkAndHeapMemory: when the
// network memory is the remainder, it must match its own configuration. Any
// IllegalConfigurationException on the way is wrapped; other exceptions pass through.
func (d *deriver) checkNetwork(n int64) *exception {
	var err *exception
	if d.legacyNetwork() {
		var configured int64
		if configured, _, err = d.legacyNetworkSize(); err == nil {
			if configured != n {
				err = errNetworkMismatch(n, configured)
			} else {
				d.note(StepCheck, "Check: Network "+HumanBytes(n)+" equals the legacy buffers × segment size")
			}
		}
	} else {
		var rf rangeFraction
		if rf, err = d.networkRange(); err == nil {
			if n > rf.max || n < rf.min {
				err = errNetworkOutOfRange(n, rf.min, rf.max)
			} else {
				d.note(StepCheck, "Check: Network "+HumanBytes(n)+" is within ["+HumanBytes(rf.min)+", "+HumanBytes(rf.max)+"]")
			}
		}
	}
	if err.OfClass(flinkconf.ClassIllegalConfiguration) {
		return errNetworkInconsistent(err)
	}
	return err
}
