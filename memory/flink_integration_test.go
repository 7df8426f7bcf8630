//go:build integration

package memory_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/local"
	"github.com/flinktune/flinktune/memory"
)

// TestAgainstBashJavaUtils compares flinktune's derivation with Flink's own BashJavaUtils, run
// in-process by the harness on each prepared Flink version, for every generated configuration
// and every memory vector in testdata/: the JVM arguments and dynamic properties must be the
// same bytes, and every configuration Flink rejects must be rejected with Flink's exception
// class, message and causes.
func TestAgainstBashJavaUtils(t *testing.T) {
	dists, err := local.DistsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	gen := generateConfigs(15, 8000, 4000)
	vecs := loadVectorConfigs(t)
	for _, d := range dists {
		t.Run(d.Version, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			start := time.Now()
			st := compareAll(t, ctx, d, nil, gen)
			t.Logf("Flink %s: %d generated configurations (%d rejected by Flink), %d mismatches, %s",
				d.Version, st.n, st.rejected, st.mismatches, time.Since(start).Round(time.Millisecond))
			// Vectors run grouped by environment: Flink 1.x reads FLINK_TM_HEAP/FLINK_JM_HEAP from it.
			start = time.Now()
			var vn, vrej, vmis int
			for _, env := range envGroups(vecs) {
				var group []genConfig
				for _, v := range vecs {
					if envKey(v.env) == envKey(env) {
						group = append(group, v.genConfig)
					}
				}
				st := compareAll(t, ctx, d, env, group)
				vn, vrej, vmis = vn+st.n, vrej+st.rejected, vmis+st.mismatches
			}
			t.Logf("Flink %s: %d vectors (%d rejected by Flink), %d mismatches, %s",
				d.Version, vn, vrej, vmis, time.Since(start).Round(time.Millisecond))
		})
	}
}

type stats struct{ n, rejected, mismatches int }

func compareAll(t *testing.T, ctx context.Context, d *local.Dist, env map[string]string, cfgs []genConfig) stats {
	t.Helper()
	reqs := make([]local.MemoryRequest, len(cfgs))
	for i, c := range cfgs {
		reqs[i] = local.MemoryRequest{ID: c.ID, Mode: c.Mode, Config: c.Config, Via: c.Via}
	}
	res, err := d.DeriveMemory(ctx, env, reqs)
	if err != nil {
		t.Fatal(err)
	}
	var st stats
	for i, c := range cfgs {
		st.n++
		if res[i].ID != c.ID {
			t.Fatalf("result %d is for %s, want %s", i, res[i].ID, c.ID)
		}
		if res[i].Failed() {
			st.rejected++
		}
		if diff := compareOne(c, env, d, res[i]); diff != "" {
			st.mismatches++
			if st.mismatches <= 25 {
				t.Errorf("Flink %s: %s env=%v\n  %s", d.Version, describe(c), env, diff)
			}
		}
	}
	return st
}

// compareOne returns "" when flinktune's result equals Flink's, else what differs.
func compareOne(c genConfig, env map[string]string, d *local.Dist, flink local.MemoryResult) string {
	p := d.Profile()
	conf := memory.ConfigFromStrings(c.Config, c.ID)
	if c.Via == "file" {
		// The same file the harness wrote, read by flinktune's own loader.
		var err error
		if conf, err = configFile(c, d); err != nil {
			return err.Error()
		}
	}
	var jvm, dyn string
	var err error
	if c.Mode == "tm" {
		var tm *memory.TaskManager
		if tm, err = memory.DeriveTaskManager(conf, env, p); err == nil {
			jvm, dyn = tm.JVMArgs(), tm.DynamicConfigsString()
		}
	} else {
		var jm *memory.JobManager
		if jm, err = memory.DeriveJobManager(conf, env, p); err == nil {
			jvm, dyn = jm.JVMArgs(), jm.DynamicConfigsString()
		}
	}
	switch {
	case flink.Failed() && err == nil:
		return fmt.Sprintf("Flink rejects (%s: %s), flinktune accepts: %s", flink.ErrorClass, flink.ErrorMessage, jvm)
	case flink.Failed():
		var ex *flinkconf.Exception
		if !errors.As(err, &ex) {
			return fmt.Sprintf("flinktune error %v is not a Flink exception; Flink: %s: %s", err, flink.ErrorClass, flink.ErrorMessage)
		}
		got := memory.ErrorRecordOf(err)
		if got.ErrorClass != flink.ErrorClass || got.ErrorMessage != flink.ErrorMessage || !slices.Equal(got.Causes, flink.Causes) {
			return fmt.Sprintf("error differs\n   flinktune %s: %s %q\n   Flink     %s: %s %q",
				got.ErrorClass, got.ErrorMessage, got.Causes, flink.ErrorClass, flink.ErrorMessage, flink.Causes)
		}
		return ""
	case err != nil:
		return fmt.Sprintf("flinktune rejects (%v), Flink accepts: %v", err, flink.Lines)
	}
	if len(flink.Lines) != 2 {
		return fmt.Sprintf("BashJavaUtils printed %d result lines, want 2: %q", len(flink.Lines), flink.Lines)
	}
	var diffs []string
	if jvm != flink.Lines[0] {
		diffs = append(diffs, fmt.Sprintf("JVM args\n   flinktune %s\n   Flink     %s", jvm, flink.Lines[0]))
	}
	if dyn != flink.Lines[1] {
		diffs = append(diffs, fmt.Sprintf("dynamic properties\n   flinktune %s\n   Flink     %s", dyn, flink.Lines[1]))
	}
	return strings.Join(diffs, "\n  ")
}

type vectorConfig struct {
	genConfig
	env map[string]string
}

// loadVectorConfigs reads the configurations (not the expectations) of every memory vector.
func loadVectorConfigs(t *testing.T) []vectorConfig {
	t.Helper()
	var out []vectorConfig
	for _, f := range []struct{ file, mode string }{{"flink-memory-tm.jsonl", "tm"}, {"flink-memory-jm.jsonl", "jm"}} {
		data, err := os.ReadFile("../testdata/vectors/" + f.file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			var v struct {
				ID     string            `json:"id"`
				Config map[string]string `json:"config"`
				Env    map[string]string `json:"env"`
			}
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Fatalf("%s: %v", f.file, err)
			}
			// A vector's config is a configuration file's content (blank values are dropped).
			out = append(out, vectorConfig{genConfig{ID: v.ID, Mode: f.mode, Category: "vector", Config: v.Config, Via: "file"}, v.Env})
		}
	}
	if len(out) < 1000 {
		t.Fatalf("only %d memory vectors", len(out))
	}
	return out
}

func envKey(env map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(env)) {
		b.WriteString(k + "=" + env[k] + ";")
	}
	return b.String()
}

func envGroups(vs []vectorConfig) []map[string]string {
	seen := map[string]bool{}
	var out []map[string]string
	for _, v := range vs {
		if k := envKey(v.env); !seen[k] {
			seen[k] = true
			out = append(out, v.env)
		}
	}
	return out
}

// configFile renders c as the harness writes it into the version's configuration file (raw
// values in flink-conf.yaml, single-quoted strings in config.yaml) and loads it with
// flinktune's configuration loader.
func configFile(c genConfig, d *local.Dist) (*flinkconf.Config, error) {
	var b strings.Builder
	format := flinkconf.FormatFlat
	for _, k := range slices.Sorted(maps.Keys(c.Config)) {
		v := c.Config[k]
		if d.ConfigFileName() == "config.yaml" {
			format = flinkconf.FormatYAML
			v = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		}
		b.WriteString(k + ": " + v + "\n")
	}
	conf, _, err := flinkconf.Parse([]byte(b.String()), d.ConfigFileName(), format)
	return conf, err
}
