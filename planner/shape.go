package planner

import (
	"fmt"
	"strings"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

// Shape is a TaskManager shape: the total resource profile the slot manager cuts slots from,
// its number of slots (which defines the default slot), and what one costs.
type Shape struct {
	Name  string
	Total Profile
	Slots int
	// ProcessMemory is the TaskManager's total process memory when known (derived from a Flink
	// configuration, or given). It includes framework, metaspace and overhead, so it is what a
	// container costs; 0 = unknown.
	ProcessMemory int64
	// Cost is the relative price of one TaskManager; 0 derives it (see shapeCost).
	Cost float64
	// Config is a Flink configuration that yields this shape, when known.
	Config *flinkconf.Config
	// Memory is the memory model's breakdown, when derived from a configuration.
	Memory *memory.TaskManager
}

// DeriveFunc derives a TaskManager's memory from a Flink configuration.
type DeriveFunc func(cfg *flinkconf.Config) (*memory.TaskManager, error)

// DefaultDerive is the memory model with Flink 1.x semantics and no environment.
func DefaultDerive(cfg *flinkconf.Config) (*memory.TaskManager, error) {
	return memory.DeriveTaskManager(cfg, nil, memory.Flink1)
}

// ShapeFromConfig builds a shape as SlotManagerUtils.generateTaskManagerTotalResourceProfile
// does from a TaskManager's configuration: CPU = taskmanager.cpu.cores (default: the number of
// slots), task heap, task off-heap, managed and network memory from the memory model, and the
// external resources of external-resources / external-resource.<name>.amount.
func ShapeFromConfig(name string, cfg *flinkconf.Config, derive DeriveFunc) (Shape, error) {
	if derive == nil {
		derive = DefaultDerive
	}
	slots, _, e := cfg.Int(flinkconf.TMNumberOfTaskSlots)
	if e != nil {
		return Shape{}, e
	}
	if slots < 1 {
		return Shape{}, fmt.Errorf("%s must be at least 1, got %d", flinkconf.TMNumberOfTaskSlots.Key, slots)
	}
	s := Shape{Name: name, Slots: int(slots), Config: cfg}
	if cfg.IsConfigured(flinkconf.TMCPUCores) {
		c, _, e := cfg.Double(flinkconf.TMCPUCores)
		if e != nil {
			return Shape{}, e
		}
		if !(c > 0) {
			return Shape{}, fmt.Errorf("%s must be greater than 0, got %s", flinkconf.TMCPUCores.Key, flinkconf.JavaDoubleString(c))
		}
		d, err := DecimalFromFloat(c)
		if err != nil {
			return Shape{}, fmt.Errorf("%s: %v", flinkconf.TMCPUCores.Key, err)
		}
		s.Total.CPU = d
	} else {
		s.Total.CPU = DecimalInt(int64(slots))
	}
	tm, err := derive(cfg)
	if err != nil {
		return Shape{}, fmt.Errorf("deriving the TaskManager memory: %w", err)
	}
	s.Memory = tm
	s.Total.TaskHeap, s.Total.TaskOffHeap, s.Total.Managed, s.Total.Network = tm.TaskHeap, tm.TaskOffHeap, tm.Managed, tm.Network
	s.ProcessMemory = tm.TotalProcess
	ext, err := externalResources(cfg)
	if err != nil {
		return Shape{}, err
	}
	s.Total.Extended = ext
	return s, nil
}

// externalResources reads external-resources and each external-resource.<name>.amount.
func externalResources(cfg *flinkconf.Config) (map[string]Decimal, error) {
	list, ok := cfg.String(flinkconf.ExternalResources)
	if !ok || strings.TrimSpace(list) == "" {
		return nil, nil
	}
	out := map[string]Decimal{}
	for _, name := range strings.Split(list, ";") {
		name = strings.TrimSpace(name)
		if name == "" || strings.EqualFold(name, "none") {
			continue
		}
		key := flinkconf.ExternalResourceAmountKey(name)
		raw, found := cfg.Get(key)
		if !found {
			return nil, fmt.Errorf("external resource %q is listed in %s but %s is not set", name, flinkconf.ExternalResources.Key, key)
		}
		n, e := flinkconf.ParseJavaLong(raw)
		if e != nil || n < 0 {
			return nil, fmt.Errorf("%s: %q is not a non-negative whole number", key, raw)
		}
		if n > 0 {
			out[name] = DecimalInt(n)
		}
	}
	return out, nil
}

// validateShape checks what the slot manager needs of a shape.
func validateShape(s Shape) error {
	if s.Slots < 1 {
		return fmt.Errorf("TaskManager %q: slots must be at least 1, got %d", s.Name, s.Slots)
	}
	if s.Total.CPU <= 0 {
		return fmt.Errorf("TaskManager %q: cpu must be greater than 0", s.Name)
	}
	if s.Total.TotalMemory() <= 0 {
		return fmt.Errorf("TaskManager %q: task heap + task off-heap + managed + network must be greater than 0", s.Name)
	}
	return nil
}

// costBasis is the memory a shape is priced by: process memory when every compared shape has
// it, otherwise the slot manager's total memory.
func costMemory(s Shape, useProcess bool) float64 {
	if useProcess {
		return float64(s.ProcessMemory)
	}
	return float64(s.Total.TotalMemory())
}

// shapeCost prices s relative to ref (the configured TaskManager, cost 1 unless given): an
// explicit cost wins; otherwise ref's cost × the mean of the memory ratio and the CPU ratio.
func shapeCost(s, ref Shape, useProcess bool) float64 {
	if s.Cost > 0 {
		return s.Cost
	}
	refCost := ref.Cost
	if refCost <= 0 {
		refCost = 1
	}
	mr := costMemory(s, useProcess) / costMemory(ref, useProcess)
	cr := s.Total.CPU.Float() / ref.Total.CPU.Float()
	return refCost * (mr + cr) / 2
}
