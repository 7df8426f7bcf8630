package memory

import (
	"github.com/flinktune/flinktune/flinkconf"
)

// TaskManagerWarnings lists what in cfg and env a user should know before trusting the
// TaskManager derivation: deprecated keys, legacy keys and how the profile treats them, and
// settings that are silently overridden. Misspelt keys are flinkconf.Config.Misspellings'.
func TaskManagerWarnings(cfg *flinkconf.Config, env map[string]string, p Profile) []flinkconf.Warning {
	var w warnings
	w.deprecated(cfg, flinkconf.TMManagedSize, flinkconf.TMNetworkMin, flinkconf.TMNetworkMax, flinkconf.TMNetworkFraction)
	w.legacyHeap(cfg, env, p, tmLegacyHeap, flinkconf.TMFlinkSize)
	if cfg.IsConfigured(flinkconf.TMNumberOfBuffers) {
		buffers := flinkconf.TMNumberOfBuffers.Key
		if set := firstSet(cfg, flinkconf.TMNetworkMin, flinkconf.TMNetworkMax, flinkconf.TMNetworkFraction); set != "" {
			w.add(cfg, buffers, "legacy "+buffers+" is ignored because "+set+" is set")
		} else {
			w.add(cfg, buffers, "legacy "+buffers+" fixes network memory to buffers × taskmanager.memory.segment-size; prefer taskmanager.memory.network.min/max/fraction")
		}
	}
	w.overridden(cfg, tmProcessOptions)
	return w.list
}

// JobManagerWarnings is TaskManagerWarnings for the JobManager.
func JobManagerWarnings(cfg *flinkconf.Config, env map[string]string, p Profile) []flinkconf.Warning {
	var w warnings
	w.legacyHeap(cfg, env, p, jmLegacyHeap, flinkconf.JMHeapSize)
	w.overridden(cfg, jmProcessOptions)
	return w.list
}

// firstSet returns the key the first configured option is set under, or "".
func firstSet(cfg *flinkconf.Config, opts ...flinkconf.Option) string {
	for _, o := range opts {
		if _, key, ok := cfg.Lookup(o); ok {
			return key
		}
	}
	return ""
}

type warnings struct{ list []flinkconf.Warning }

func (w *warnings) add(cfg *flinkconf.Config, key, msg string) {
	var o flinkconf.Origin
	if cfg != nil {
		o = cfg.OriginOf(key)
	}
	w.list = append(w.list, flinkconf.Warning{Origin: o, Message: msg})
}

// deprecated warns about values read from deprecated keys, and about deprecated keys that are
// shadowed by the main key.
func (w *warnings) deprecated(cfg *flinkconf.Config, opts ...flinkconf.Option) {
	for _, o := range opts {
		_, used, ok := cfg.Lookup(o)
		for _, fb := range o.Fallbacks {
			if !cfg.Has(fb.Key) {
				continue
			}
			if ok && used == fb.Key {
				w.add(cfg, fb.Key, fb.Key+" is deprecated; use "+o.Key)
			} else {
				w.add(cfg, fb.Key, fb.Key+" is deprecated and ignored because "+used+" is set")
			}
		}
	}
}

// legacyHeap explains what happens to legacy heap settings under the profile.
func (w *warnings) legacyHeap(cfg *flinkconf.Config, env map[string]string, p Profile, lh legacyHeap, target flinkconf.Option) {
	var found []string
	if _, ok := env[lh.envVar]; ok {
		found = append(found, lh.envVar)
	}
	for _, o := range []flinkconf.Option{lh.size, lh.mb} {
		if cfg.IsConfigured(o) {
			found = append(found, o.Key)
		}
	}
	if len(found) == 0 {
		return
	}
	for i, key := range found {
		origin := key
		if key == lh.envVar {
			origin = ""
		}
		switch {
		case p == Flink2:
			w.add(cfg, origin, "legacy "+key+" is ignored by Flink 2.x; set "+target.Key+" or a *.memory.process.size instead")
		case cfg.IsConfigured(target):
			w.add(cfg, origin, "legacy "+key+" is ignored because "+target.Key+" is set")
		case i > 0:
			w.add(cfg, origin, "legacy "+key+" is ignored because "+found[0]+" takes precedence")
		default:
			w.add(cfg, origin, "legacy "+key+" is mapped to "+target.Key+" by Flink 1.x start-up scripts (YARN and Kubernetes map it to the process size instead; Flink 2.x ignores it)")
		}
	}
}

// overridden notes lower-precedence size options that only act as consistency checks.
func (w *warnings) overridden(cfg *flinkconf.Config, po processOptions) {
	fineGrained := true
	for _, o := range po.required {
		fineGrained = fineGrained && cfg.IsConfigured(o)
	}
	flink, process := po.totalFlink, po.totalProcess
	switch {
	case fineGrained && cfg.IsConfigured(flink) && po.totalFlink.Key == flinkconf.TMFlinkSize.Key:
		w.add(cfg, flink.Key, flink.Key+" is also set: network memory becomes what is left of it, and Flink fails if that is outside the network range")
	case fineGrained && cfg.IsConfigured(flink):
		w.add(cfg, flink.Key, flink.Key+" is also set: off-heap memory becomes what is left of it (if off-heap is set as well, heap and off-heap must add up to it exactly)")
	case fineGrained && cfg.IsConfigured(process):
		w.add(cfg, process.Key, process.Key+" is also set: JVM Overhead becomes what is left of it, and Flink fails if that is outside the overhead range")
	case cfg.IsConfigured(flink) && cfg.IsConfigured(process):
		w.add(cfg, process.Key, process.Key+" and "+flink.Key+" are both set: JVM Overhead becomes what is left, and Flink fails if that is outside the overhead range")
	}
}
