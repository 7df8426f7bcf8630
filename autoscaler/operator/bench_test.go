package operator

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// syntheticJob is a deterministic job for benchmarks and long-running tests: `chains` sources,
// each followed by `depth`-1 keyed operators. Rates follow a slow wave so that decisions vary.
type syntheticJob struct {
	chains, depth int
	snap          *autoscaler.Snapshot
	in            []float64 // cumulative records per vertex
	step          int
}

func newSyntheticJob(chains, depth int, conf map[string]string, start time.Time) *syntheticJob {
	j := &syntheticJob{chains: chains, depth: depth}
	snap := &autoscaler.Snapshot{JobID: "bench", Status: "RUNNING", RunningSince: start, Config: conf,
		SlotsTotal: 400, SlotsAvailable: 0, Time: start,
		TaskManagerMetrics: map[string]autoscaler.Aggregate{
			tmHeapUsed:  agg(math.NaN(), 1<<30, math.NaN()),
			tmHeapMax:   agg(math.NaN(), 4<<30, math.NaN()),
			tmManaged:   agg(math.NaN(), 1<<29, math.NaN()),
			tmMetaspace: agg(math.NaN(), 1<<27, math.NaN()),
			tmGCTime:    agg(math.NaN(), 20, math.NaN()),
		}}
	for c := 0; c < chains; c++ {
		for d := 0; d < depth; d++ {
			id := fmt.Sprintf("%08x%024x", c, d)
			v := autoscaler.Vertex{ID: id, Parallelism: 4 + (c+d)%5, MaxParallelism: 128, SlotSharingGroup: "default"}
			if d > 0 {
				v.Inputs = []autoscaler.Edge{{From: fmt.Sprintf("%08x%024x", c, d-1), Ship: "HASH"}}
			}
			v.MetricNames = []string{"busyTimeMsPerSecond", "backPressuredTimeMsPerSecond", "numRecordsInPerSecond", "idleTimeMsPerSecond"}
			if d == 0 {
				v.MetricNames = append(v.MetricNames, "Source__kafka.numRecordsInPerSecond", "Source__kafka.numRecordsIn",
					"Source__kafka.numRecordsOut", "kafka.pendingRecords")
				for p := 0; p < 32; p++ {
					v.MetricNames = append(v.MetricNames, fmt.Sprintf("Source__kafka.KafkaSourceReader.topic.t%d.partition.%d.currentOffset", c, p))
				}
			}
			v.Metrics = map[string]autoscaler.Aggregate{}
			snap.Vertices = append(snap.Vertices, v)
		}
	}
	j.snap = snap
	j.in = make([]float64, len(snap.Vertices))
	return j
}

// next advances the job by dt and returns the snapshot (reused; valid until the next call).
func (j *syntheticJob) next(dt time.Duration) *autoscaler.Snapshot {
	j.step++
	j.snap.Time = j.snap.Time.Add(dt)
	wave := 1 + 0.5*math.Sin(float64(j.step)/20)
	for i := range j.snap.Vertices {
		v := &j.snap.Vertices[i]
		c, d := i/j.depth, i%j.depth
		rate := (1000 + 100*float64(c)) * wave / float64(d+1)
		j.in[i] += rate * dt.Seconds()
		v.ReadRecords = int64(j.in[i])
		v.WriteRecords = int64(j.in[i] * 0.9)
		busy := math.Min(1000, rate/float64(v.Parallelism)/2)
		v.Metrics["busyTimeMsPerSecond"] = agg(math.NaN(), busy, busy*0.8)
		v.Metrics["backPressuredTimeMsPerSecond"] = agg(math.NaN(), 0, 0)
		if d == 0 {
			v.Metrics["Source__kafka.numRecordsInPerSecond"] = agg(rate, math.NaN(), math.NaN())
			v.Metrics["Source__kafka.numRecordsIn"] = agg(j.in[i], math.NaN(), math.NaN())
			v.Metrics["kafka.pendingRecords"] = agg(1000*wave, math.NaN(), math.NaN())
		} else {
			v.Metrics["numRecordsInPerSecond"] = agg(rate, math.NaN(), math.NaN())
		}
	}
	return j.snap
}

// BenchmarkDecision100Vertices measures one full Cycle (collect + evaluate + execute) of a
// 100-vertex job whose 15-minute window is full (one sample per minute, the operator's
// reconcile interval).
func BenchmarkDecision100Vertices(b *testing.B) {
	for _, bc := range []struct {
		name     string
		interval time.Duration
	}{{"60s-samples", time.Minute}, {"10s-samples", 10 * time.Second}} {
		b.Run(bc.name, func(b *testing.B) {
			conf := map[string]string{OptEnabled.Key: "true", OptStabilizationInterval.Key: "0 s"}
			start := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
			job := newSyntheticJob(10, 10, conf, start)
			p := New(DefaultOptions())
			for i := 0; i < int(16*time.Minute/bc.interval); i++ { // fill the window
				if _, err := p.Cycle(job.next(bc.interval)); err != nil {
					b.Fatal(err)
				}
			}
			dec, _ := p.Cycle(job.next(bc.interval))
			if !dec.Ready {
				b.Fatalf("window not full: %s", dec.Reason)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := p.Cycle(job.next(bc.interval)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
