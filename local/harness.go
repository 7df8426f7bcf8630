package local

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// MemoryRequest is one configuration for Flink's own memory derivation (BashJavaUtils).
type MemoryRequest struct {
	ID string `json:"id"`
	// Mode is "tm" (GET_TM_RESOURCE_PARAMS) or "jm" (GET_JM_RESOURCE_PARAMS).
	Mode   string            `json:"mode"`
	Config map[string]string `json:"config"`
	// Via "file" passes Config as the configuration file's lines instead of -D options.
	Via string `json:"via,omitempty"`
}

// MemoryResult is what BashJavaUtils printed (Lines, after its result prefix) or threw.
type MemoryResult struct {
	ID           string   `json:"id"`
	Lines        []string `json:"lines"`
	ErrorClass   string   `json:"error_class"`
	ErrorMessage string   `json:"error_message"`
	Causes       []string `json:"causes"`
}

// Failed reports whether Flink rejected the configuration.
func (r MemoryResult) Failed() bool { return r.ErrorClass != "" }

// DeriveMemory runs BashJavaUtils in one JVM for every request, in order, with env added to the
// JVM's environment (FLINK_TM_HEAP and FLINK_JM_HEAP are read by Flink 1.x from the
// environment). The JVM gets a small heap; thousands of requests take seconds.
func (d *Dist) DeriveMemory(ctx context.Context, env map[string]string, reqs []MemoryRequest) ([]MemoryResult, error) {
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, r := range reqs {
		if err := enc.Encode(r); err != nil {
			return nil, err
		}
	}
	cmd := d.JavaCommand(ctx, []string{"-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"},
		"io.flinktune.harness.MemoryConformance", d.ConfigFileName())
	cmd.Env = heapEnv(os.Environ(), env)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start BashJavaUtils harness (Flink %s): %w", d.Version, err)
	}
	results, rerr := readResults(out)
	werr := cmd.Wait()
	if rerr != nil || werr != nil {
		return nil, fmt.Errorf("BashJavaUtils harness (Flink %s): %v %v\n%s", d.Version, rerr, werr, tail(stderr.Bytes(), 4000))
	}
	if len(results) != len(reqs) {
		return nil, fmt.Errorf("BashJavaUtils harness (Flink %s): %d results for %d requests\n%s", d.Version, len(results), len(reqs), tail(stderr.Bytes(), 4000))
	}
	return results, nil
}

// heapEnv is environ without the caller's own FLINK_*_HEAP variables, plus env: Flink 1.x reads
// them from the environment, and an empty value is not the same as an unset one.
func heapEnv(environ []string, env map[string]string) []string {
	var out []string
	for _, kv := range environ {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "FLINK_TM_HEAP", "FLINK_JM_HEAP", "FLINK_TM_HEAP_MB", "FLINK_JM_HEAP_MB":
			continue
		}
		out = append(out, kv)
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func readResults(r io.Reader) ([]MemoryResult, error) {
	var out []MemoryResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var res MemoryResult
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			return out, fmt.Errorf("harness output %q: %w", sc.Text(), err)
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
