package tiny

import "testing"

func BenchmarkEvaluate(b *testing.B) {
	s := seedKafka(b, 100*MiB, 8*MiB)
	for b.Loop() {
		if _, err := Evaluate(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlanThroughput is the throughput goal: one sizing per candidate.
func BenchmarkPlanThroughput(b *testing.B) {
	r := request(b, "linux-x64", 4)
	r.Throughput = mibps(50)
	for b.Loop() {
		if _, err := NewPlan(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlanBudget is the budget goal: a binary search of the heap per candidate and slot count.
func BenchmarkPlanBudget(b *testing.B) {
	r := request(b, "macos-arm64", 10)
	r.Budget = 512 * MiB
	for b.Loop() {
		if _, err := NewPlan(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlanTaskManager includes Flink's own memory derivation for every sizing.
func BenchmarkPlanTaskManager(b *testing.B) {
	r := request(b, "linux-x64", 4)
	r.Mode, r.Budget = TaskManager, 512*MiB
	for b.Loop() {
		if _, err := NewPlan(r); err != nil {
			b.Fatal(err)
		}
	}
}
