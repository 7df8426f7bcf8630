package cli

import (
	"strings"
	"testing"
)

// TestGrammar checks that every command rejects what it cannot mean, before doing anything, with
// exit status 2 and a message naming the problem.
func TestGrammar(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		// Unknown commands and stray positional arguments.
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"completion", "nope"}, `unknown shell "nope" (want one of bash, fish, powershell, zsh)`},
		{[]string{"completion", "bash", "extra"}, "flinktune completion bash takes no arguments"},
		{[]string{"bench", "extra", "--scenario", "wordcount-ramp"}, `flinktune bench takes no arguments, got ["extra"]`},
		{[]string{"demo", "extra"}, "flinktune demo takes no arguments"},
		{[]string{"run", "http://localhost:8081"}, "flinktune run takes no arguments"},
		{[]string{"events", "x"}, "flinktune events takes no arguments"},
		{[]string{"sim", "x"}, "sim takes no arguments"},
		{[]string{"tune", "x"}, "tune takes no arguments"},
		{[]string{"plan"}, "plan accepts 1 arg"},
		{[]string{"plan", "batch", "a", "b"}, "plan batch accepts 1 arg"},
		{[]string{"memory", "a", "b"}, "accepts at most 1 arg"},
		{[]string{"memory", "tiny", "x"}, "memory tiny takes no arguments"},
		// Bad flags and values.
		{[]string{"bench", "--scenario", "wordcount-ramp", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"bench", "--scenario", "wordcount-ramp", "-o", "xml"}, `--output "xml": want one of table, json, yaml`},
		{[]string{"bench", "--scenario", "wordcount-ramp", "--policy", "greedy"}, `--policy "greedy"`},
		{[]string{"bench", "--scenario", "wordcount-ramp", "--interval", "0s"}, `--interval "0s"`},
		{[]string{"events", "-o", "xml"}, `--output "xml"`},
		{[]string{"events", "--limit", "-1"}, "--limit -1"},
		{[]string{"events", "--since", "-1h"}, "--since -1h0m0s"},
		{[]string{"plan", "x.yaml", "-o", "xml"}, `--output "xml"`},
		{[]string{"tune", "--flink", "http://127.0.0.1:1", "-o", "xml"}, `--output "xml"`},
		{[]string{"tune"}, "--flink is required"},
		{[]string{"run"}, "no cluster"},
		{[]string{"run", "--flink", "http://127.0.0.1:1", "--parallelism", "0"}, "--parallelism 0"},
		{[]string{"run", "--flink", "http://127.0.0.1:1", "--interval", "soon"}, `--interval "soon"`},
		{[]string{"run", "--flink", "http://127.0.0.1:1", "--log-level", "loud"}, `--log-level "loud"`},
		{[]string{"run", "--flink", "http://127.0.0.1:1", "--listen", "9249"}, `--listen "9249": want host:port`},
		{[]string{"sim", "--scenario", "wordcount-ramp", "--listen", "127.0.0.1:99999"}, "port 99999 out of range"},
		{[]string{"tune", "--flink", "http://127.0.0.1:1", "--job", "8f3d"}, `--job "8f3d": want a Flink job id`},
		{[]string{"demo", "--speed", "0"}, "for as fast as possible, --speed max"},
		{[]string{"demo", "--speed", "Inf"}, "between 0.01 and 100000"},
		{[]string{"demo", "--every", "0s"}, "--every 0s"},
		{[]string{"demo", "--policy", "greedy"}, `policy "greedy"`},
		{[]string{"memory", "tiny", "--flink", "1.20"}, "the version is --flink-version 1.20"},
		// job.autoscaler.* and flinktune.* options, checked up front with "did you mean".
		{[]string{"bench", "--scenario", "wordcount-ramp", "--set", "job.autoscaler.utilisation.target=0.5"},
			"did you mean job.autoscaler.utilization.target?"},
		{[]string{"bench", "--scenario", "wordcount-ramp", "--policy", "operator", "--set", "job.autoscaler.utilization.target=7"},
			"job.autoscaler.utilization.target is invalid"},
		{[]string{"bench", "--scenario", "wordcount-ramp", "--set", "flinktune.memory.tuner=mine"}, "flinktune.memory.tuner"},
		{[]string{"run", "--flink", "http://127.0.0.1:1", "--set", "job.autoscaler.metrics.window=abc"}, "job.autoscaler.metrics.window"},
		{[]string{"run", "--flink", "http://127.0.0.1:1", "--set", "flinktune.policy=greedy"}, `flinktune.policy: invalid value "greedy"`},
		{[]string{"tune", "--flink", "http://127.0.0.1:1", "--set", "flinktune.memory.tuning.percentil=0.5"},
			"did you mean flinktune.memory.tuning.percentile?"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, errOut, code := runCLI(t, tc.args...)
			if code != ExitUsage || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, ExitUsage, tc.want)
			}
		})
	}
}

// TestCompletion: a shell's script is produced; no shell shows the help.
func TestCompletion(t *testing.T) {
	out, _, code := runCLI(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash: exit %d, %.100q", code, out)
	}
	out, _, code = runCLI(t, "completion")
	if code != 0 || !strings.Contains(out, "Available Commands") {
		t.Errorf("completion: exit %d, %.200q", code, out)
	}
}
