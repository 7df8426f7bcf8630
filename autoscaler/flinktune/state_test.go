package flinktune

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// A cycle of TestAutoscaleScenario on real Flink 2.2.1 failed around its rescale with
// "policy state: json: unsupported value: NaN": an accumulated-busy-time NaN (Flink's double,
// NaN when unknown) kept in the policy's base and samples, which encoding/json refuses.
func TestStateWithUnknownBusyTime(t *testing.T) {
	for _, tc := range []struct {
		name      string
		busy      float64 // accumulated busy ms of the vertex "map"
		perSecond bool    // whether busyTimeMsPerSecond is reported
	}{
		{"busy NaN, no per-second metric", math.NaN(), false},
		{"busy NaN, per-second metric", math.NaN(), true},
		{"busy known", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(DefaultOptions())
			snap := func(i int) *autoscaler.Snapshot {
				m := map[string]autoscaler.Aggregate{}
				if tc.perSecond {
					m["busyTimeMsPerSecond"] = autoscaler.Aggregate{Max: 500, Avg: 500}
				}
				busy := tc.busy
				if !math.IsNaN(busy) {
					busy = float64(i) * 5000
				}
				return &autoscaler.Snapshot{Time: t0.Add(time.Duration(i) * 10 * time.Second), JobID: "job", Status: "RUNNING", RunningSince: t0,
					Vertices: []autoscaler.Vertex{
						{ID: "src", Name: "src", Parallelism: 1, MaxParallelism: 128, Metrics: map[string]autoscaler.Aggregate{
							"Source__src.numRecordsIn": {Sum: float64(i) * 1000}, "Source__src.pendingRecords": {Sum: 0}}},
						{ID: "map", Name: "map", Parallelism: 1, MaxParallelism: 128, ReadRecords: int64(i) * 1000,
							AccumulatedBusyTime: busy, Metrics: m, Inputs: []autoscaler.Edge{{From: "src", Ship: autoscaler.ShipRebalance}}},
					}}
			}
			for i := 0; i < 3; i++ {
				if _, err := p.Cycle(snap(i)); err != nil {
					t.Fatal(err)
				}
			}
			data, err := p.MarshalState()
			if err != nil {
				t.Fatalf("MarshalState: %v", err)
			}
			q := New(DefaultOptions())
			if err := q.RestoreState(data); err != nil {
				t.Fatalf("RestoreState: %v", err)
			}
			if len(q.st.Samples) != len(p.st.Samples) || len(q.st.Samples) == 0 {
				t.Fatalf("restored %d samples of %d", len(q.st.Samples), len(p.st.Samples))
			}
			same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
			if a, b := p.st.Base.V["map"].Busy, q.st.Base.V["map"].Busy; !same(a, b) {
				t.Errorf("base busy %v restored as %v", a, b)
			}
			for i := range p.st.Samples {
				a, _ := p.st.Samples[i].V.get("map")
				b, _ := q.st.Samples[i].V.get("map")
				if a != b && !(same(a.BusySec, b.BusySec) && a.InRate == b.InRate && a.P == b.P) {
					t.Errorf("sample %d: %+v restored as %+v", i, a, b)
				}
			}
		})
	}
}

// States stored before NaN was written as a missing field always carry busy and busySec.
func TestStateReadsStoredNumbers(t *testing.T) {
	var c counters
	if err := json.Unmarshal([]byte(`{"in":1,"out":2,"busy":3,"lag":4}`), &c); err != nil || c != (counters{1, 2, 3, 4}) {
		t.Errorf("counters = %+v, %v", c, err)
	}
	var s vsample
	if err := json.Unmarshal([]byte(`{"p":2,"in":5,"out":5,"busySec":0,"hot":1,"lag":0,"ingest":5}`), &s); err != nil || s.BusySec != 0 || s.P != 2 {
		t.Errorf("vsample = %+v, %v", s, err)
	}
	if err := json.Unmarshal([]byte(`{"p":2,"in":5}`), &s); err != nil || !math.IsNaN(s.BusySec) {
		t.Errorf("vsample without busySec = %+v, %v; want BusySec NaN", s, err)
	}
}

// MarshalState splices in its window from the samples' cached encodings: every cycle's state
// must be the bytes encoding/json writes for the whole state afresh, through scale-ups, the
// window sliding and a restore (samples read back without a cache).
func TestMarshalStateIsPlainEncoding(t *testing.T) {
	j := newToy(func(el time.Duration) float64 { return 3000 + 2*el.Seconds() },
		&toyVertex{id: "src", p: 1, capacity: 20000, sel: 1}, &toyVertex{id: "map", p: 1, capacity: 5000, sel: 1, maxP: 128, hash: true})
	p := New(DefaultOptions())
	spliced := 0
	for i := 1; i <= 3600; i++ {
		j.step()
		if i%10 != 0 {
			continue
		}
		d, err := p.Cycle(j.snapshot())
		if err != nil {
			t.Fatal(err)
		}
		if d.Parallelism != nil && j.down <= 0 && j.apply(d.Parallelism) {
			p.Applied(j.now, d.Parallelism)
		}
		got, err := p.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		plain := p.st
		plain.Samples = slices.Clone(p.st.Samples)
		for k := range plain.Samples {
			plain.Samples[k].enc = nil
		}
		want, err := json.Marshal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("t=%ds: MarshalState\n%s\nwant\n%s", i, got, want)
		}
		if len(p.st.Samples) > 1 {
			spliced++
		}
		if i%1200 == 0 {
			p = New(DefaultOptions())
			if err := p.RestoreState(got); err != nil {
				t.Fatal(err)
			}
		}
	}
	if spliced == 0 {
		t.Fatal("no state had a window to splice")
	}
}

// FuzzRestoreState: a saved policy state (the store's file, a ConfigMap) may be cut short or
// edited. Whatever RestoreState accepts, the policy keeps cycling on a real job without
// panicking, never decides a parallelism outside [1, max parallelism], and its state still
// marshals (a NaN or an infinity in it once made every later save fail).
func FuzzRestoreState(f *testing.F) {
	snaps := chainSnapshots(3, 40)
	p := New(DefaultOptions())
	for i, s := range snaps[:36] {
		if _, err := p.Cycle(s); err != nil {
			f.Fatal(err)
		}
		if i == 5 || i == 35 {
			data, err := p.MarshalState()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"target":{"x":-3},"downtimes":[1e308,-1],"samples":[{"t":"2026-01-01T00:00:00Z"}]}`))
	// Targets of a job vertex the policy would never decide: handed on as decisions once.
	f.Add([]byte(`{"version":1,"target":{"00000000000000000000000000000000":-3,"00000000000000000000000000000001":100000}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := New(DefaultOptions())
		if p.RestoreState(data) != nil {
			return
		}
		for _, s := range snaps[36:] {
			d, err := p.Cycle(s)
			if err != nil {
				return
			}
			for id, n := range d.Parallelism {
				if n < 1 || n > 128 {
					t.Fatalf("vertex %s: parallelism %d", id, n)
				}
			}
		}
		if _, err := p.MarshalState(); err != nil {
			t.Fatalf("restored state cycled no longer marshals: %v", err)
		}
	})
}
