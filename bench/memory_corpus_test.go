package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/flinktune/flinktune/scenario/generate"
)

// TestMemoryCorpus compares the tuners on generated scenarios with memory tuning enabled:
// the operator's policy with its own tuner, the operator's policy with flinktune's tuner (the
// same kind of scaling decisions), and flinktune with its tuner. It reports the average
// TaskManager process memory and the OOM and container kills of each. It runs on
// FLINKTUNE_MEMORY_CORPUS=N scenarios (seeds from FLINKTUNE_MEMORY_CORPUS_SEED, default 1).
func TestMemoryCorpus(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FLINKTUNE_MEMORY_CORPUS"))
	if n <= 0 {
		t.Skip("set FLINKTUNE_MEMORY_CORPUS=N to run N generated scenarios")
	}
	seed, _ := strconv.ParseUint(os.Getenv("FLINKTUNE_MEMORY_CORPUS_SEED"), 10, 64)
	seed = max(seed, 1)
	corpus, err := generate.Corpus(seed, n)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		name       string
		mem        [3]float64
		oom, kills [3]int
		lag        [3]float64
		err        error
	}
	variants := []struct {
		policy string
		sets   []string
	}{
		{"operator", []string{"job.autoscaler.memory.tuning.enabled=true"}},
		{"operator", []string{"job.autoscaler.memory.tuning.enabled=true", "flinktune.memory.tuner=flinktune"}},
		{"flinktune", []string{"job.autoscaler.memory.tuning.enabled=true"}},
	}
	// FLINKTUNE_MEMORY_CORPUS_VARIANTS=0,2 runs only some of the variants (the others read 0).
	run := map[int]bool{0: true, 1: true, 2: true}
	if v := os.Getenv("FLINKTUNE_MEMORY_CORPUS_VARIANTS"); v != "" {
		run = map[int]bool{}
		for _, f := range strings.Split(v, ",") {
			k, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || k < 0 || k >= len(variants) {
				t.Fatalf("FLINKTUNE_MEMORY_CORPUS_VARIANTS: invalid value %q (want indexes 0-%d, comma-separated)", v, len(variants)-1)
			}
			run[k] = true
		}
	}
	rows := make([]row, len(corpus))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, g := range corpus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			sc, err := g.Scenario()
			if err != nil {
				rows[i].err = err
				return
			}
			rows[i].name = sc.Name
			for k, v := range variants {
				if !run[k] {
					continue
				}
				r, err := Run(context.Background(), sc, v.policy, Options{Set: v.sets})
				if err != nil {
					rows[i].err = err
					return
				}
				rows[i].mem[k] = r.Memory.TaskManagerProcessBytesAvg / (1 << 30)
				rows[i].oom[k], rows[i].kills[k] = r.Memory.OOMKills, r.Memory.ContainerKills
				rows[i].lag[k] = r.LagViolationSeconds
			}
			mu.Lock()
			r := rows[i]
			fmt.Printf("%-28s GiB op/op %.3f  op/ft %.3f  ft/ft %.3f | OOM+kills %d+%d %d+%d %d+%d | lag s %.0f %.0f %.0f\n", r.name,
				r.mem[0], r.mem[1], r.mem[2], r.oom[0], r.kills[0], r.oom[1], r.kills[1], r.oom[2], r.kills[2], r.lag[0], r.lag[1], r.lag[2])
			mu.Unlock()
		}()
	}
	wg.Wait()
	noMore, noMoreSame, clean := 0, 0, 0
	for _, r := range rows {
		if r.err != nil {
			t.Errorf("%s: %v", r.name, r.err)
			continue
		}
		if r.mem[2] <= r.mem[0]*1.005 {
			noMore++
		}
		if r.mem[1] <= r.mem[0]*1.005 {
			noMoreSame++
		}
		if r.oom[2]+r.kills[2] == 0 {
			clean++
		}
	}
	fmt.Printf("flinktune+tuner at most the operator's average TaskManager memory: %d/%d; flinktune's tuner under the operator's scaling: %d/%d; flinktune without OOM or container kill: %d/%d\n",
		noMore, len(rows), noMoreSame, len(rows), clean, len(rows))
}
