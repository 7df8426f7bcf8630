package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/flinktune/flinktune/memory"
)

// DistsEnv names the environment variable that lists prepared Flink classpaths, one directory
// per version separated by the OS path list separator (':'), as written by
// scripts/integration.d/10-real-flink.sh.
const DistsEnv = "FLINKTUNE_FLINK_DISTS"

// A Dist is a Flink "distribution" assembled from Maven modules (flink-dist is not served by
// Maven Central): a directory holding
//
//	version        the Flink version, e.g. 1.20.5
//	classpath.txt  the runtime classpath of a standalone cluster (jars in ~/.m2)
//	harness.jar    flinktune's harness (memory conformance, workload job)
type Dist struct {
	Dir       string
	Version   string
	Classpath []string
	Harness   string
}

// LoadDist reads a prepared Dist from dir and checks that every jar it names exists.
func LoadDist(dir string) (*Dist, error) {
	v, err := os.ReadFile(filepath.Join(dir, "version"))
	if err != nil {
		return nil, fmt.Errorf("flink dist %s: %w (prepare it with scripts/integration.d/10-real-flink.sh)", dir, err)
	}
	cp, err := os.ReadFile(filepath.Join(dir, "classpath.txt"))
	if err != nil {
		return nil, fmt.Errorf("flink dist %s: %w", dir, err)
	}
	d := &Dist{Dir: dir, Version: strings.TrimSpace(string(v)), Harness: filepath.Join(dir, "harness.jar")}
	for _, p := range strings.Split(strings.TrimSpace(string(cp)), string(os.PathListSeparator)) {
		if p != "" {
			d.Classpath = append(d.Classpath, p)
		}
	}
	for _, p := range append([]string{d.Harness}, d.Classpath...) {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("flink dist %s (Flink %s): %w; run scripts/integration.d/10-real-flink.sh again", dir, d.Version, err)
		}
	}
	if len(d.Classpath) == 0 {
		return nil, fmt.Errorf("flink dist %s: empty classpath.txt", dir)
	}
	return d, nil
}

// DistsFromEnv loads every Dist listed in $FLINKTUNE_FLINK_DISTS. It returns an error naming
// the variable when it is unset.
func DistsFromEnv() ([]*Dist, error) {
	list := os.Getenv(DistsEnv)
	if strings.TrimSpace(list) == "" {
		return nil, errors.New(DistsEnv + " is not set: run scripts/integration.d/10-real-flink.sh, or set it to the directories it prepares")
	}
	var out []*Dist
	for _, dir := range filepath.SplitList(list) {
		if dir == "" {
			continue
		}
		d, err := LoadDist(dir)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// ClasspathString is the JVM -cp value: the harness first, then Flink's jars.
func (d *Dist) ClasspathString() string {
	return strings.Join(append([]string{d.Harness}, d.Classpath...), string(os.PathListSeparator))
}

// Major is the Flink major version (1 or 2).
func (d *Dist) Major() int {
	if strings.HasPrefix(d.Version, "1.") {
		return 1
	}
	return 2
}

// Profile is the memory-model profile matching the version.
func (d *Dist) Profile() memory.Profile {
	if d.Major() == 1 {
		return memory.Flink1
	}
	return memory.Flink2
}

// ConfigFileName is the configuration file the version reads: 2.x reads only config.yaml; 1.x
// keeps the legacy flink-conf.yaml, whose values are plain strings.
func (d *Dist) ConfigFileName() string {
	if d.Major() == 1 {
		return "flink-conf.yaml"
	}
	return "config.yaml"
}

// DefaultVersion is the Flink version `flinktune local` uses when none is given.
const DefaultVersion = "2.2.1"

// CacheDir is where scripts/integration.d/10-real-flink.sh prepares dists:
// $FLINKTUNE_CACHE, else ~/.cache/flinktune.
func CacheDir() string {
	if d := os.Getenv("FLINKTUNE_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "flinktune")
	}
	return filepath.Join(os.TempDir(), "flinktune")
}

// FindDist returns the dist in dir when given, else the one for version listed in
// $FLINKTUNE_FLINK_DISTS, else the one prepared in the cache. The error says how to prepare it.
func FindDist(version, dir string) (*Dist, error) {
	if dir != "" {
		return LoadDist(dir)
	}
	if version == "" {
		version = DefaultVersion
	}
	if os.Getenv(DistsEnv) != "" {
		if ds, err := DistsFromEnv(); err == nil {
			for _, d := range ds {
				if d.Version == version {
					return d, nil
				}
			}
		}
	}
	d, err := LoadDist(filepath.Join(CacheDir(), "flink", version))
	if err != nil {
		return nil, fmt.Errorf("Flink %s is not prepared: run `FLINKTUNE_FLINK_VERSIONS=%s scripts/integration.d/10-real-flink.sh` "+
			"(Maven resolves Flink's modules into ~/.m2) or pass --dist DIR: %w", version, version, err)
	}
	return d, nil
}
