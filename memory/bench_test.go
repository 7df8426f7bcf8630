package memory

import (
	"testing"

	"github.com/flinktune/flinktune/flinkconf"
)

// BenchmarkDeriveTaskManager derives Flink's default TaskManager (process.size 1728m).
func BenchmarkDeriveTaskManager(b *testing.B) {
	cfg := flinkconf.FromMap(map[string]string{"taskmanager.memory.process.size": "1728m"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DeriveTaskManager(cfg, nil, Flink1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeriveTaskManagerFineGrained is mode A with an explicit total: every check runs.
func BenchmarkDeriveTaskManagerFineGrained(b *testing.B) {
	cfg := flinkconf.FromMap(map[string]string{
		"taskmanager.memory.task.heap.size": "1g", "taskmanager.memory.managed.size": "1g",
		"taskmanager.memory.flink.size": "2600m", "taskmanager.memory.process.size": "3200m",
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DeriveTaskManager(cfg, nil, Flink1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeriveJobManager(b *testing.B) {
	cfg := flinkconf.FromMap(map[string]string{"jobmanager.memory.process.size": "1600m"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DeriveJobManager(cfg, nil, Flink1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVectors derives every TaskManager and JobManager vector once per iteration.
func BenchmarkVectors(b *testing.B) {
	tms := loadVectors(b, "flink-memory-tm.jsonl")
	jms := loadVectors(b, "flink-memory-jm.jsonl")
	tmCfg := make([]*flinkconf.Config, len(tms))
	for i, v := range tms {
		tmCfg[i] = ConfigFromStrings(v.Config, v.ID)
	}
	jmCfg := make([]*flinkconf.Config, len(jms))
	for i, v := range jms {
		jmCfg[i] = ConfigFromStrings(v.Config, v.ID)
	}
	b.ReportAllocs()
	for b.Loop() {
		for i, c := range tmCfg {
			_, _ = DeriveTaskManager(c, tms[i].Env, Flink1)
		}
		for i, c := range jmCfg {
			_, _ = DeriveJobManager(c, jms[i].Env, Flink1)
		}
	}
}
