package local

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/memory"
)

func writeDist(t *testing.T, version string, jars ...string) string {
	t.Helper()
	dir := t.TempDir()
	var cp []string
	for _, j := range jars {
		p := filepath.Join(dir, j)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		cp = append(cp, p)
	}
	must(t, os.WriteFile(filepath.Join(dir, "version"), []byte(version+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "classpath.txt"), []byte(strings.Join(cp, ":")), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "harness.jar"), nil, 0o644))
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestLoadDist(t *testing.T) {
	dir := writeDist(t, "2.2.1", "flink-runtime.jar", "flink-core.jar")
	d, err := LoadDist(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != "2.2.1" || d.Major() != 2 || d.Profile() != memory.Flink2 || d.ConfigFileName() != "config.yaml" {
		t.Errorf("dist %+v: major %d profile %v conf %s", d, d.Major(), d.Profile(), d.ConfigFileName())
	}
	if cp := strings.Split(d.ClasspathString(), ":"); len(cp) != 3 || cp[0] != d.Harness {
		t.Errorf("classpath %v: want the harness first, then 2 jars", cp)
	}
	d1, err := LoadDist(writeDist(t, "1.20.5", "a.jar"))
	if err != nil || d1.Profile() != memory.Flink1 || d1.ConfigFileName() != "flink-conf.yaml" {
		t.Errorf("1.20.5: %v %v", d1, err)
	}
}

func TestLoadDistMissingJar(t *testing.T) {
	dir := writeDist(t, "1.20.5", "a.jar")
	must(t, os.Remove(filepath.Join(dir, "a.jar")))
	_, err := LoadDist(dir)
	if err == nil || !strings.Contains(err.Error(), "10-real-flink.sh") {
		t.Errorf("err = %v, want one naming the preparation script", err)
	}
}

func TestFindDistNotPrepared(t *testing.T) {
	t.Setenv(DistsEnv, "")
	t.Setenv("FLINKTUNE_CACHE", t.TempDir())
	_, err := FindDist("1.19.3", "")
	if err == nil || !strings.Contains(err.Error(), "FLINKTUNE_FLINK_VERSIONS=1.19.3") {
		t.Errorf("err = %v, want the command that prepares 1.19.3", err)
	}
}

func TestFindDistFromEnv(t *testing.T) {
	a, b := writeDist(t, "1.20.5", "a.jar"), writeDist(t, "2.2.1", "b.jar")
	t.Setenv(DistsEnv, a+":"+b)
	d, err := FindDist("2.2.1", "")
	if err != nil || d.Dir != b {
		t.Errorf("FindDist = %v, %v; want %s", d, err, b)
	}
}

func TestHeapEnv(t *testing.T) {
	got := heapEnv([]string{"PATH=/bin", "FLINK_TM_HEAP=2g", "FLINK_JM_HEAP_MB=100"}, map[string]string{"FLINK_JM_HEAP": "1g"})
	slices.Sort(got)
	want := []string{"FLINK_JM_HEAP=1g", "PATH=/bin"}
	if !slices.Equal(got, want) {
		t.Errorf("heapEnv = %v, want %v", got, want)
	}
}

func TestTMConfigOverridesReplaceTotals(t *testing.T) {
	c := &Cluster{Spec: Spec{Config: map[string]string{
		"taskmanager.memory.process.size": "1g", "taskmanager.numberOfTaskSlots": "2"}}}
	got := c.tmConfig(map[string]string{"taskmanager.memory.flink.size": "700m"})
	if _, ok := got["taskmanager.memory.process.size"]; ok || got["taskmanager.memory.flink.size"] != "700m" || got["taskmanager.numberOfTaskSlots"] != "2" {
		t.Errorf("tmConfig = %v", got)
	}
	got = c.tmConfig(map[string]string{"taskmanager.memory.managed.fraction": "0.2"})
	if got["taskmanager.memory.process.size"] != "1g" {
		t.Errorf("a fraction override must keep the cluster's total: %v", got)
	}
}

func TestSplitDynamic(t *testing.T) {
	tm, err := memory.DeriveTaskManager(memory.ConfigFromStrings(map[string]string{"taskmanager.memory.process.size": "1g"}, "t"), nil, memory.Flink2)
	if err != nil {
		t.Fatal(err)
	}
	args := splitDynamic(tm.DynamicConfigsString())
	if len(args) != 26 || args[0] != "-D" || !strings.HasPrefix(args[1], "taskmanager.memory.network.min=") {
		t.Errorf("splitDynamic = %q", args)
	}
}
