package memory_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/flinktune/flinktune/memory"
)

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// The generated configurations that the real-Flink tier compares with BashJavaUtils must
// exercise every category and a share of rejections; this checks it with flinktune's own
// derivation, without a JVM.
func TestGeneratedConfigsCoverBranches(t *testing.T) {
	cfgs := generateConfigs(15, 8000, 4000)
	if len(cfgs) < 10000 {
		t.Fatalf("%d configurations, want at least 10000", len(cfgs))
	}
	perCat := map[string][2]int{} // category -> [accepted, rejected]
	rejected := 0
	for _, c := range cfgs {
		conf := memory.ConfigFromStrings(c.Config, c.ID)
		var err error
		if c.Mode == "tm" {
			_, err = memory.DeriveTaskManager(conf, nil, memory.Flink1)
		} else {
			_, err = memory.DeriveJobManager(conf, nil, memory.Flink1)
		}
		n := perCat[c.Category]
		if err != nil {
			n[1]++
			rejected++
		} else {
			n[0]++
		}
		perCat[c.Category] = n
	}
	share := float64(rejected) / float64(len(cfgs))
	t.Logf("%d configurations, %.1f%% rejected; per category [accepted rejected]: %v", len(cfgs), 100*share, perCat)
	if share < 0.2 || share > 0.6 {
		t.Errorf("rejected share %.2f, want between 0.2 and 0.6", share)
	}
	for cat, n := range perCat {
		if n[0] == 0 && cat != "syntax" && cat != "jm-syntax" {
			t.Errorf("category %s: no accepted configuration", cat)
		}
	}
	for _, cat := range []string{"tiny", "fractions", "overhead-edge", "network-edge", "syntax", "legacy", "jm-tiny", "jm-overhead-edge"} {
		if perCat[cat][1] == 0 {
			t.Errorf("category %s: no rejected configuration", cat)
		}
	}
}
