package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

type memoryOpts struct {
	sets    []string
	envs    []string
	mode    string
	profile string
	output  string
	format  string
	explain bool
	batch   bool
}

func newMemoryCmd() *cobra.Command {
	o := &memoryOpts{}
	cmd := &cobra.Command{
		Use:   "memory [FILE|-]",
		Short: "Show the memory pools, JVM arguments and -D options Flink derives from a configuration",
		Long: `memory derives TaskManager and JobManager memory exactly as Flink's start-up scripts do
(BashJavaUtils): every pool in bytes, the JVM arguments and the dynamic -D options, or Flink's
own exception, class and message, where Flink would refuse to start.

The input is a flink-conf.yaml (legacy "key: value" lines) or a Flink config.yaml (nested YAML),
given as FILE, "-" for standard input, and/or --set key=value options (which win over the file).

The table shows each pool as in Flink's memory diagram: Total Process Memory = Total Flink
Memory (JVM Heap: framework + task heap; Off-Heap: managed memory and JVM direct memory:
framework off-heap, task off-heap, network) + JVM Metaspace + JVM Overhead, with its size, its
share of the process, and where the value came from: an explicit key (file:line), a default, a
fraction of a total within [min, max] (and whether it was capped), or the rest of a total.
--explain walks through the derivation in Flink's order.

Profiles: flink1 (default) reproduces Flink 1.17-1.20, including the legacy keys
taskmanager.heap.size / taskmanager.heap.mb / jobmanager.heap.* and FLINK_TM_HEAP/FLINK_JM_HEAP
(pass them with --env; the real environment is not read). flink2 reproduces Flink 2.x, which
ignores all of those and reports JobManager errors without the "JobManager memory configuration
failed:" prefix.

--mode auto (default) shows the TaskManager, the JobManager, or both, depending on which of
their memory options the configuration sets.

Batch mode (--batch --mode tm|jm) is for programs: it reads JSON lines
  {"config": {"taskmanager.memory.process.size": "1728m"}, "env": {"FLINK_TM_HEAP": "1g"}}
from FILE or standard input and writes one JSON line per input line, in order, with the field
names of the memory test vectors (framework_heap, ..., jvm_args, dynamic_configs; bytes as
integers; -o json and yaml use flinktune's camelCase keys, frameworkHeap, instead) or
{"error": "<SimpleClassName>: <message>", "error_class", "error_message", "causes"} where Flink
fails. Config values are strings as written in a flink-conf file (numbers and booleans are
taken literally); they are trimmed and empty values are dropped, as Flink's loader does.

Exit status: 0 on success, 1 when Flink rejects the configuration, 2 for bad flags or input.`,
		Example: `  # Flink's default TaskManager (1728m process memory): every pool and where it comes from
  flinktune memory --set taskmanager.memory.process.size=1728m

  # a configuration file, both processes, step-by-step explanation
  flinktune memory conf/flink-conf.yaml --mode both --explain

  # what Flink 2.x makes of the same file, as JSON
  flinktune memory conf/config.yaml --profile flink2 --output json

  # the -D options Flink passes to the TaskManager JVM
  flinktune memory conf/flink-conf.yaml --mode tm --output dynamic

  # legacy heap variable of Flink 1.x start-up scripts
  flinktune memory --env FLINK_TM_HEAP=1g

  # batch mode: one JSON result line per JSON input line
  echo '{"config": {"taskmanager.memory.flink.size": "1g"}}' | flinktune memory --batch --mode tm`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("accepts at most 1 arg (the configuration FILE or -), received %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runMemory(cmd, args, o) },
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.sets, "set", nil, "set a configuration value, key=value (repeatable; wins over FILE)")
	f.StringArrayVar(&o.envs, "env", nil, "simulate FLINK_TM_HEAP or FLINK_JM_HEAP, NAME=VALUE (repeatable)")
	f.StringVar(&o.mode, "mode", "auto", "which process: tm, jm, both or auto")
	f.StringVar(&o.profile, "profile", "flink1", "Flink semantics: flink1 (1.17-1.20) or flink2 (2.x)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json, yaml or dynamic")
	f.StringVar(&o.format, "format", "auto", "configuration file syntax: auto, flat (flink-conf.yaml) or yaml (config.yaml)")
	f.BoolVar(&o.explain, "explain", false, "walk through the derivation step by step")
	f.BoolVar(&o.batch, "batch", false, "read JSON lines {config, env} and write one JSON result line each (needs --mode tm or jm)")
	cmd.AddCommand(newMemoryTinyCmd())
	return cmd
}

// component is one derived process: its name and either a result or Flink's failure.
type component struct {
	name    string // "TaskManager" or "JobManager"
	tm      *memory.TaskManager
	jm      *memory.JobManager
	steps   []memory.Step
	err     error
	profile memory.Profile
}

func runMemory(cmd *cobra.Command, args []string, o *memoryOpts) error {
	profile, err := memory.ParseProfile(o.profile)
	if err != nil {
		return usagef("--profile: %v", err)
	}
	switch o.mode {
	case "tm", "jm", "both", "auto":
	default:
		return usagef("--mode %q: want tm, jm, both or auto", o.mode)
	}
	switch o.output {
	case "table", "json", "yaml", "dynamic":
	default:
		return usagef("--output %q: want table, json, yaml or dynamic", o.output)
	}
	env, err := parseEnvFlags(o.envs)
	if err != nil {
		return err
	}
	if o.batch {
		return runMemoryBatch(cmd, args, o, profile)
	}

	cfg, warns, label, err := loadMemoryConfig(cmd, args, o)
	if err != nil {
		return err
	}
	wantTM, wantJM := resolveMode(o.mode, cfg, env)
	warns = append(warns, cfg.Misspellings(flinkconf.KnownOptions)...)
	var comps []*component
	if wantTM {
		warns = append(warns, memory.TaskManagerWarnings(cfg, env, profile)...)
		tm, steps, err := memory.TraceTaskManager(cfg, env, profile)
		comps = append(comps, &component{name: "TaskManager", tm: tm, steps: steps, err: err, profile: profile})
	}
	if wantJM {
		warns = append(warns, memory.JobManagerWarnings(cfg, env, profile)...)
		jm, steps, err := memory.TraceJobManager(cfg, env, profile)
		comps = append(comps, &component{name: "JobManager", jm: jm, steps: steps, err: err, profile: profile})
	}
	stderr := cmd.ErrOrStderr()
	for _, w := range warns {
		fmt.Fprintln(stderr, "warning:", w)
	}

	out := cmd.OutOrStdout()
	failed := false
	for _, c := range comps {
		failed = failed || c.err != nil
	}
	switch o.output {
	case "table":
		for i, c := range comps {
			if i > 0 {
				fmt.Fprintln(out)
			}
			writeComponentText(out, c, label, o.explain)
		}
	case "json", "yaml":
		if err := writeCamelDoc(out, o.output, memoryDocument(comps, warns, profile, o.explain)); err != nil {
			return err
		}
	case "dynamic":
		for _, c := range comps {
			switch {
			case c.err != nil:
				fmt.Fprintf(stderr, "%s: Flink rejects this configuration:\n", c.name)
				writeFailure(stderr, c.err, "  ")
			case c.tm != nil:
				fmt.Fprintln(out, c.tm.DynamicConfigsString())
			default:
				fmt.Fprintln(out, c.jm.DynamicConfigsString())
			}
		}
	}
	if failed {
		return exitError{ExitFailure}
	}
	return nil
}

// parseEnvFlags reads --env NAME=VALUE; only the legacy heap variables mean anything to Flink's
// memory derivation, so anything else is a mistake worth reporting.
func parseEnvFlags(envs []string) (map[string]string, error) {
	if len(envs) == 0 {
		return nil, nil
	}
	env := map[string]string{}
	for _, e := range envs {
		name, value, ok := strings.Cut(e, "=")
		if !ok || (name != memory.EnvTMHeap && name != memory.EnvJMHeap) {
			return nil, usagef("--env %q: want %s=SIZE or %s=SIZE, e.g. --env %s=1g", e, memory.EnvTMHeap, memory.EnvJMHeap, memory.EnvTMHeap)
		}
		env[name] = value
	}
	return env, nil
}

// loadMemoryConfig reads FILE ("-" = stdin) and applies --set; label names the input for people.
func loadMemoryConfig(cmd *cobra.Command, args []string, o *memoryOpts) (*flinkconf.Config, []flinkconf.Warning, string, error) {
	format, err := flinkconf.ParseFormat(o.format)
	if err != nil {
		return nil, nil, "", usagef("--format: %v", err)
	}
	cfg := flinkconf.New()
	var warns []flinkconf.Warning
	var labels []string
	if len(args) == 1 {
		path, source := args[0], args[0]
		var data []byte
		if path == "-" {
			source = "<stdin>"
			data, err = io.ReadAll(cmd.InOrStdin())
		} else {
			data, err = os.ReadFile(path)
		}
		if err != nil {
			return nil, nil, "", usagef("cannot read configuration: %v", err)
		}
		if format == flinkconf.FormatAuto {
			switch {
			case strings.HasSuffix(path, "config.yaml"):
				format = flinkconf.FormatYAML
			case strings.HasSuffix(path, "flink-conf.yaml"):
				format = flinkconf.FormatFlat
			}
		}
		cfg, warns, err = flinkconf.Parse(data, source, format)
		if err != nil {
			return nil, nil, "", usagef("%v", err)
		}
		labels = append(labels, source)
	}
	if len(o.sets) > 0 {
		if err := cfg.ApplyOverrides(o.sets); err != nil {
			return nil, nil, "", usageError{err}
		}
		labels = append(labels, "--set")
	}
	if len(labels) == 0 {
		labels = append(labels, "empty configuration")
	}
	return cfg, warns, strings.Join(labels, " + "), nil
}

// resolveMode picks the processes to show; auto shows those whose memory options are set.
func resolveMode(mode string, cfg *flinkconf.Config, env map[string]string) (tm, jm bool) {
	switch mode {
	case "tm":
		return true, false
	case "jm":
		return false, true
	case "both":
		return true, true
	}
	for _, k := range cfg.Keys() {
		if strings.HasPrefix(k, "taskmanager.memory.") || strings.HasPrefix(k, "taskmanager.heap.") ||
			strings.HasPrefix(k, "taskmanager.network.memory.") || k == "taskmanager.network.numberOfBuffers" {
			tm = true
		}
		if strings.HasPrefix(k, "jobmanager.memory.") || strings.HasPrefix(k, "jobmanager.heap.") {
			jm = true
		}
	}
	_, tmEnv := env[memory.EnvTMHeap]
	_, jmEnv := env[memory.EnvJMHeap]
	tm, jm = tm || tmEnv, jm || jmEnv
	if !tm && !jm {
		tm = true
	}
	return tm, jm
}

// runMemoryBatch answers JSON lines with JSON lines, flushing each so that a program can
// converse with it through a pipe.
func runMemoryBatch(cmd *cobra.Command, args []string, o *memoryOpts, profile memory.Profile) error {
	if o.mode != "tm" && o.mode != "jm" {
		return usagef("--batch needs --mode tm or --mode jm")
	}
	for _, name := range []string{"set", "output", "explain", "env", "format"} {
		if cmd.Flags().Changed(name) {
			return usagef("--%s cannot be combined with --batch: each input line carries its own config and env, and the output is JSON lines", name)
		}
	}
	in := cmd.InOrStdin()
	source := "stdin"
	if len(args) == 1 && args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return usagef("cannot read batch input: %v", err)
		}
		defer f.Close()
		in, source = f, args[0]
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	w := bufio.NewWriter(cmd.OutOrStdout())
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		cfg, env, err := parseBatchLine(text, fmt.Sprintf("%s:%d", source, line))
		if err != nil {
			w.Flush()
			return usagef("%s line %d: %v", source, line, err)
		}
		var rec any
		if o.mode == "tm" {
			tm, err := memory.DeriveTaskManager(cfg, env, profile)
			rec = batchRecord(err, func() any { return tm.Record() })
		} else {
			jm, err := memory.DeriveJobManager(cfg, env, profile)
			rec = batchRecord(err, func() any { return jm.Record() })
		}
		if err := enc.Encode(rec); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return usagef("%s: %v", source, err)
	}
	return nil
}

func batchRecord(err error, ok func() any) any {
	if err != nil {
		return memory.ErrorRecordOf(err)
	}
	return ok()
}

// parseBatchLine reads {"config": {key: value}, "env": {name: value}}; other fields (such as a
// vector's "id" or "expect") are ignored so that test-vector files can be piped in as they are.
func parseBatchLine(text []byte, source string) (*flinkconf.Config, map[string]string, error) {
	if text[0] != '{' {
		return nil, nil, errors.New(`malformed input: want a JSON object like {"config": {"taskmanager.memory.process.size": "1728m"}}`)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(text, &top); err != nil {
		return nil, nil, fmt.Errorf("malformed input: %v", err)
	}
	var in struct{ Config, Env map[string]json.RawMessage }
	for _, f := range []struct {
		name string
		dst  *map[string]json.RawMessage
	}{{"config", &in.Config}, {"env", &in.Env}} {
		name, dst := f.name, f.dst
		v, ok := top[name]
		if !ok || string(bytes.TrimSpace(v)) == "null" {
			continue
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return nil, nil, fmt.Errorf("malformed input: %q must be an object of names to values, got %s", name, v)
		}
	}
	raw := make(map[string]string, len(in.Config))
	for _, k := range slices.Sorted(maps.Keys(in.Config)) {
		s, err := scalarText(in.Config[k])
		if err != nil {
			return nil, nil, fmt.Errorf("config key %q: %v", k, err)
		}
		raw[k] = s
	}
	var env map[string]string
	for _, k := range slices.Sorted(maps.Keys(in.Env)) {
		s, err := scalarText(in.Env[k])
		if err != nil {
			return nil, nil, fmt.Errorf("env %q: %v", k, err)
		}
		if env == nil {
			env = map[string]string{}
		}
		env[k] = s
	}
	return memory.ConfigFromStrings(raw, source), env, nil
}

// scalarText is the text of a JSON string, or the literal of a number or boolean.
func scalarText(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", errors.New("missing value")
	}
	switch v[0] {
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", err
		}
		return s, nil
	case 't', 'f':
		return string(v), nil
	case 'n':
		return "", errors.New("value is null; omit the key instead (or give a string)")
	case '{', '[':
		return "", fmt.Errorf("value %s is not a string; Flink values are strings such as \"1728m\"", v)
	}
	return string(v), nil // a JSON number, as written
}

// writeComponentText writes one process as people read it: the explanation if asked, then the
// breakdown table and the JVM arguments, or Flink's exception.
func writeComponentText(w io.Writer, c *component, label string, explain bool) {
	fmt.Fprintf(w, "%s memory · %s · %s\n", c.name, profileText(c.profile), label)
	if explain {
		fmt.Fprintln(w, "\nDerivation, in Flink's order:")
		for i, s := range c.steps {
			fmt.Fprintf(w, "%3d. %s\n", i+1, s)
		}
		if c.err != nil {
			fmt.Fprintf(w, "     ✗ Flink fails here (see below).\n")
		}
	}
	if c.err != nil {
		fmt.Fprintln(w, "\nFlink rejects this configuration:")
		writeFailure(w, c.err, "  ")
		return
	}
	fmt.Fprintln(w)
	var root memory.Node
	if c.tm != nil {
		root = c.tm.Breakdown()
	} else {
		root = c.jm.Breakdown()
	}
	writeBreakdown(w, root)
	fmt.Fprintln(w)
	if c.tm != nil {
		fmt.Fprintf(w, "JVM arguments  %s\n", c.tm.JVMArgs())
		fmt.Fprintf(w, "CPU cores      %s    Task slots  %d\n", flinkconf.JavaDoubleString(c.tm.CPUCores), c.tm.NumSlots)
	} else {
		fmt.Fprintf(w, "JVM arguments  %s\n", c.jm.JVMArgs())
		if !c.jm.DirectMemoryLimit {
			fmt.Fprintln(w, "               (no -XX:MaxDirectMemorySize: jobmanager.memory.enable-jvm-direct-memory-limit is false)")
		}
	}
}

func profileText(p memory.Profile) string {
	if p == memory.Flink2 {
		return "Flink 2.x semantics (flink2)"
	}
	return "Flink 1.x semantics (flink1)"
}

// tableRow is one laid-out line of the breakdown.
type tableRow struct {
	label, size, bytes, share, bar, source string
}

// writeBreakdown draws the pool tree with aligned columns and a bar proportional to each
// pool's share of the total process memory.
func writeBreakdown(w io.Writer, root memory.Node) {
	total := root.Bytes
	var rows []tableRow
	var walk func(n memory.Node, prefix, branch string)
	walk = func(n memory.Node, prefix, branch string) {
		share := 0.0
		if total > 0 {
			share = float64(n.Bytes) / float64(total)
		}
		rows = append(rows, tableRow{
			label:  prefix + branch + n.Title,
			size:   memory.HumanBytes(n.Bytes),
			bytes:  fmt.Sprint(n.Bytes),
			share:  fmt.Sprintf("%.1f%%", share*100),
			bar:    bar(share, 20),
			source: n.Source.Short(),
		})
		childPrefix := prefix
		switch branch {
		case "├─ ":
			childPrefix += "│  "
		case "└─ ":
			childPrefix += "   "
		}
		for i, ch := range n.Children {
			b := "├─ "
			if i == len(n.Children)-1 {
				b = "└─ "
			}
			walk(ch, childPrefix, b)
		}
	}
	walk(root, "", "")
	head := tableRow{label: "Pool", size: "Size", bytes: "Bytes", share: "Share", source: "Source"}
	widths := [4]int{}
	for _, r := range append(rows, head) {
		widths[0] = max(widths[0], runeLen(r.label))
		widths[1] = max(widths[1], runeLen(r.size))
		widths[2] = max(widths[2], runeLen(r.bytes))
		widths[3] = max(widths[3], runeLen(r.share))
	}
	line := func(r tableRow) {
		s := pad(r.label, widths[0]) + "  " + padLeft(r.size, widths[1]) + "  " + padLeft(r.bytes, widths[2]) +
			"  " + padLeft(r.share, widths[3]) + "  " + pad(r.bar, 20) + "  " + r.source
		fmt.Fprintln(w, strings.TrimRight(s, " "))
	}
	line(head)
	for _, r := range rows {
		line(r)
	}
}

// bar draws share (0..1) as width cells of eighth blocks.
func bar(share float64, width int) string {
	eighths := int(share*float64(width*8) + 0.5)
	eighths = min(max(eighths, 0), width*8)
	s := strings.Repeat("█", eighths/8)
	if r := eighths % 8; r > 0 {
		s += string([]rune("▏▎▍▌▋▊▉")[r-1])
	}
	return s
}

func runeLen(s string) int { return len([]rune(s)) }

func pad(s string, n int) string { return s + strings.Repeat(" ", max(0, n-runeLen(s))) }

func padLeft(s string, n int) string { return strings.Repeat(" ", max(0, n-runeLen(s))) + s }

// writeFailure prints Flink's exception with its causes, then a hint where one helps.
func writeFailure(w io.Writer, err error, indent string) {
	var ex *flinkconf.Exception
	if !errors.As(err, &ex) {
		fmt.Fprintf(w, "%s%v\n", indent, err)
		return
	}
	fmt.Fprintf(w, "%s%s\n", indent, ex.Error())
	for _, c := range ex.Causes() {
		fmt.Fprintf(w, "%s  caused by %s\n", indent, c.Error())
	}
	if h := failureHint(ex); h != "" {
		fmt.Fprintf(w, "\n%shint: %s\n", indent, h)
	}
}

// failureHint turns the most common failures into advice: a value that does not parse names the
// key, the value and what Flink accepts.
func failureHint(ex *flinkconf.Exception) string {
	chain := append([]*flinkconf.Exception{ex}, ex.Causes()...)
	for _, e := range chain {
		if raw, key, ok := couldNotParse(e.Message); ok {
			return parseHint(key, raw)
		}
		if v, ok := strings.CutPrefix(e.Message, "Cannot read total process memory size from environment variable value "); ok {
			return fmt.Sprintf("the legacy heap variable's value %q is not a memory size; Flink accepts a whole number with an optional unit %s, e.g. 1g or 1024m",
				strings.TrimSuffix(v, "."), flinkconf.MemoryUnitsHelp)
		}
		if strings.HasPrefix(e.Message, "Either required fine-grained memory") {
			return "set the process size (e.g. taskmanager.memory.process.size: 1728m or jobmanager.memory.process.size: 1600m), the total Flink memory, or the fine-grained sizes"
		}
	}
	return ""
}

// couldNotParse extracts value and key from "Could not parse value '<raw>' for key '<key>'.".
func couldNotParse(msg string) (raw, key string, ok bool) {
	rest, ok := strings.CutPrefix(msg, "Could not parse value '")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, "' for key '")
	if i < 0 || !strings.HasSuffix(rest, "'.") {
		return "", "", false
	}
	return rest[:i], rest[i+len("' for key '") : len(rest)-2], true
}

func parseHint(key, raw string) string {
	typ := flinkconf.TypeString
	for _, o := range flinkconf.KnownOptions {
		if o.Key == key {
			typ = o.Type
		}
	}
	switch typ {
	case flinkconf.TypeMemorySize:
		return fmt.Sprintf("%s: %q is not a memory size; Flink accepts a whole number with an optional unit %s, e.g. 1728m, 4g or 512 mb (no decimals, no sign)",
			key, raw, flinkconf.MemoryUnitsHelp)
	case flinkconf.TypeFloat, flinkconf.TypeDouble:
		return fmt.Sprintf("%s: %q is not a number; write it like 0.1 or 2.5 (no units or %%)", key, raw)
	case flinkconf.TypeInt:
		return fmt.Sprintf("%s: %q is not a whole number (32-bit, no spaces or units)", key, raw)
	case flinkconf.TypeBool:
		return fmt.Sprintf("%s: %q is not a boolean; write true or false", key, raw)
	}
	return ""
}

// Documents of --output json and yaml.
type memoryDoc struct {
	Profile     string   `json:"profile" yaml:"profile"`
	Warnings    []string `json:"warnings" yaml:"warnings"`
	TaskManager any      `json:"taskmanager,omitempty" yaml:"taskmanager,omitempty"`
	JobManager  any      `json:"jobmanager,omitempty" yaml:"jobmanager,omitempty"`
}

type tmDoc struct {
	memory.TaskManagerRecord `yaml:",inline"`
	Sources                  map[string]string `json:"sources" yaml:"sources"`
	Steps                    []string          `json:"steps,omitempty" yaml:"steps,omitempty"`
}

type jmDoc struct {
	memory.JobManagerRecord `yaml:",inline"`
	Sources                 map[string]string `json:"sources" yaml:"sources"`
	Steps                   []string          `json:"steps,omitempty" yaml:"steps,omitempty"`
}

type failDoc struct {
	memory.ErrorRecord `yaml:",inline"`
	Steps              []string `json:"steps,omitempty" yaml:"steps,omitempty"`
}

func memoryDocument(comps []*component, warns []flinkconf.Warning, p memory.Profile, explain bool) memoryDoc {
	doc := memoryDoc{Profile: p.String(), Warnings: []string{}}
	for _, w := range warns {
		doc.Warnings = append(doc.Warnings, w.String())
	}
	for _, c := range comps {
		var steps []string
		if explain {
			for _, s := range c.steps {
				steps = append(steps, s.String())
			}
		}
		var d any
		switch {
		case c.err != nil:
			d = failDoc{ErrorRecord: memory.ErrorRecordOf(c.err), Steps: steps}
		case c.tm != nil:
			d = tmDoc{TaskManagerRecord: c.tm.Record(), Sources: shortSources(c.tm.Sources), Steps: steps}
		default:
			d = jmDoc{JobManagerRecord: c.jm.Record(), Sources: shortSources(c.jm.Sources), Steps: steps}
		}
		if c.name == "TaskManager" {
			doc.TaskManager = d
		} else {
			doc.JobManager = d
		}
	}
	return doc
}

func shortSources(src map[string]memory.Source) map[string]string {
	out := make(map[string]string, len(src))
	for pool, s := range src {
		out[pool] = s.Short()
	}
	return out
}
