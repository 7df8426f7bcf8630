package cli

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
	"github.com/flinktune/flinktune/memory/tiny"
)

type tinyOpts struct {
	budget, throughput, recordSize string
	headroom                       float64
	connector, submit, mode        string
	platform, serialRates          string
	serialCache                    float64
	cpus                           int
	gc, jit, threads, flink        string
	flinkURL                       string
	jvm                            string
	sets                           []string
	output                         string
}

func newMemoryTinyCmd() *cobra.Command {
	o := &tinyOpts{}
	cmd := &cobra.Command{
		Use:   "tiny",
		Short: "The smallest Flink configuration and JVM flags for a MiniCluster or a small TaskManager",
		Long: `tiny sizes Flink as small as it goes, after the "Tiny Flink" talk (Robert Metzger, Flink 1.17
MiniCluster): the JVM flags (-Xmx, -Xss256k, the collector, metaspace, direct memory and code cache
limits, C1-only compilation, fewer CPU-derived threads) and the Flink options (network memory,
managed memory, thread pools, slots) of the smallest process that does the job, with the
estimated resident size (RSS) by component and the throughput it sustains.

Goals:
  --throughput RATE   the least memory that sustains RATE (plus --headroom, 20% by default)
  --budget SIZE       the most throughput within SIZE of resident memory (MiniCluster) or of
                      Flink's total process memory (TaskManager); fails naming the smallest
                      feasible budget when nothing fits
  neither             the least memory that runs the job under light load (1 MiB/s)

Evaluating instead of planning: --jvm "FLAGS" and/or --set key=value estimate one given setup,
with the JVM's and Flink's defaults for everything not given, as the talk's experiments ran. A
setup that would not start prints the exception the process dies with (Flink's own message),
why, and what to change; exit status 1.

The model (resident size = heap + metaspace + threads × touched stack + direct buffers + GC
structures + code cache + other native memory; JDK 17, Flink 1.17 to 2.x) is calibrated against
every figure of the talk, measured on an Apple M1 Max (--platform macos-arm64 --cpus 10): its
16 KiB pages make the JVM round -Xmx up to 8 MiB, which is why -Xmx60m gives a 64 MiB direct
memory limit there. --platform linux-x64-jdk17 is calibrated on real Flink instead (Flink 1.20.5
MiniClusters, OpenJDK 17, x86-64 Linux, 2 CPUs, --connector datagen; memory/tiny/testdata): its
resident sizes and, with the Serial collector, throughputs hold within 15% on held-out profiles
(the rate falls once the eden outgrows the CPU's cache, so a bigger heap is not always faster;
a heap whose old generation cannot take a young collection thrashes and is refused). Those rates
depend on what else the machine runs (1.8x apart between a quiet and a loaded one): --serial-rates
gives the machine's, fitted to one-slot runs on it now (eden in and out of the cache) and,
as a third value, what a second slot beside the first costs (fitted to a two-slot run; see
memory/tiny/testdata/real-linux-x64-jdk17.md); --serial-cache where its cache ends (the stored
one is an Intel Xeon's; fitted with the rates on runs at three heaps or more). The talk's job is a Kafka source, a filter and a Kafka sink (--connector
kafka) submitted through REST (--submit rest); --connector none is an empty cluster. The
estimates hold within ~15%.

--mode taskmanager sizes one TaskManager of a small distributed deployment: the memory goes
into taskmanager.memory.* options and Flink's own derivation (as 'flinktune memory') checks them
and computes the JVM's -Xmx, -XX:MaxDirectMemorySize and -XX:MaxMetaspaceSize.

Output (-o): table (default), json, yaml, or flags (the JVM flags on the first line, the Flink
options as -D key=value on the second).

Exit status: 0 on success, 1 when no configuration fits the budget or an evaluated setup fails,
2 for bad flags.`,
		Example: `  # the smallest MiniCluster running a Kafka job at 25 MiB/s on a 2-CPU Linux box
  flinktune memory tiny --throughput 25mb/s

  # the most throughput in 256 MiB, as JVM flags and -D options
  flinktune memory tiny --budget 256m -o flags

  # a small TaskManager: Flink's memory options, checked by Flink's own derivation
  flinktune memory tiny --mode taskmanager --throughput 10mb/s

  # the talk's experiments on its machine (Apple M1 Max, 10 CPUs):
  #   -Xmx60m fails with the default 64 MB network memory, -Xmx65m starts
  flinktune memory tiny --platform macos-arm64 --cpus 10 --submit rest --jvm "-Xmx60m"
  flinktune memory tiny --platform macos-arm64 --cpus 10 --submit rest --jvm "-Xmx65m"
  #   an empty cluster with 8m network memory runs in -Xmx20m, ~80 MB
  flinktune memory tiny --platform macos-arm64 --cpus 10 --connector none --jvm "-Xmx20m" \
      --set taskmanager.memory.network.min=8m --set taskmanager.memory.network.max=8m
  #   the Kafka job with -Xmx100m: ~97 MB/s, ~260 MB
  flinktune memory tiny --platform macos-arm64 --cpus 10 --submit rest --jvm "-Xmx100m" \
      --set taskmanager.memory.network.min=8m --set taskmanager.memory.network.max=8m`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("memory tiny takes no arguments, got %q; describe the workload with flags (see --help)", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return runMemoryTiny(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.budget, "budget", "", "memory budget, e.g. 256m: the most throughput that fits")
	f.StringVar(&o.throughput, "throughput", "", "rate to sustain, e.g. 25mb/s, 512kb/s, 20000rec/s: the least memory that does")
	f.StringVar(&o.recordSize, "record-size", "1kb", "record size for rates in rec/s")
	f.Float64Var(&o.headroom, "headroom", 0.2, "fraction added to --throughput when sizing (0.2 = +20%)")
	f.StringVar(&o.connector, "connector", "kafka", "the job: kafka (Kafka source and sink, the talk's job), datagen (datagen source and discarding sink, as flinktune measures it on real Flink) or none (an empty cluster)")
	f.StringVar(&o.submit, "submit", "local", "how the job is submitted: local (MiniCluster#submitJob) or rest (RemoteStreamEnvironment, as in the talk)")
	f.StringVar(&o.mode, "mode", "minicluster", "minicluster (Flink in one JVM) or taskmanager (one TaskManager of a small cluster)")
	f.StringVar(&o.platform, "platform", "linux-x64", "where the JVM runs: "+strings.Join(tiny.PlatformNames(), ", ")+" (the talk's machine is macos-arm64)")
	f.StringVar(&o.serialRates, "serial-rates", "", "CACHED,UNCACHED[,PAIR]: this machine's rates of the job's own work under the Serial collector, MiB per CPU-second of one slot's tiered code with the eden in the CPU's cache and out of it, and optionally a slot's rate beside another over its rate alone (measured; replaces the platform's, which depend on what else runs)")
	f.Float64Var(&o.serialCache, "serial-cache", 0, "MS: where the eden leaves this machine's CPU cache under the Serial collector, as the milliseconds the pipeline takes to sweep an eden that still stays in it (fitted with --serial-rates on runs at three heaps or more; replaces the platform's, which is another CPU's)")
	f.IntVar(&o.cpus, "cpus", 2, "CPUs the JVM sees")
	f.StringVar(&o.gc, "gc", "auto", "collector: auto (try serial and g1), serial, g1 or parallel")
	f.StringVar(&o.jit, "jit", "auto", "JIT: auto (try both), c1 (-XX:TieredStopAtLevel=1) or tiered")
	f.StringVar(&o.threads, "threads", "minimal", "thread pools: minimal (trimmed) or default (Flink's and the JVM's)")
	f.StringVar(&o.flink, "flink-version", "1.20", "Flink version: 1.17 writes akka.* option names, later versions pekko.*; 2.x uses Flink 2's memory model")
	// --flink is a REST URL in every other command; the version has its own name.
	f.StringVar(&o.flinkURL, "flink", "", "")
	f.MarkHidden("flink")
	f.StringVar(&o.jvm, "jvm", "", "evaluate these JVM flags instead of planning, e.g. \"-Xmx60m\" (defaults for the rest)")
	f.StringArrayVar(&o.sets, "set", nil, "evaluate with this Flink option, key=value (repeatable), e.g. taskmanager.memory.network.max=8m")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, json, yaml or flags")
	return cmd
}

// tinyInput is the parsed command line.
type tinyInput struct {
	machine  tiny.Machine
	mode     tiny.Mode
	workload tiny.Workload
	budget   int64
	evaluate bool
	flinkVer string
	request  tiny.Request
	jvm      tiny.JVM
	flinkCfg *flinkconf.Config
	profile  memory.Profile
	warnings []string
}

func parseTinyInput(cmd *cobra.Command, o *tinyOpts) (*tinyInput, error) {
	if cmd.Flags().Changed("flink") {
		return nil, usagef("--flink %q: --flink is a cluster's REST URL in flinktune; the version is --flink-version %s", o.flinkURL, o.flinkURL)
	}
	in := &tinyInput{flinkVer: strings.TrimSpace(o.flink)}
	switch o.output {
	case "table", "json", "yaml", "flags":
	default:
		return nil, usagef("--output %q: want table, json, yaml or flags", o.output)
	}
	plat, err := tiny.ParsePlatform(o.platform)
	if err != nil {
		return nil, usagef("--platform: %v", err)
	}
	if o.serialRates != "" {
		if plat, err = withSerialRates(plat, o.serialRates); err != nil {
			return nil, err
		}
	}
	if o.serialCache != 0 {
		if plat, err = plat.WithSerialCache(o.serialCache); err != nil {
			return nil, usagef("--serial-cache %v: %v", o.serialCache, err)
		}
	}
	if o.cpus < 1 || o.cpus > 4096 {
		return nil, usagef("--cpus %d: want a number of CPUs between 1 and 4096", o.cpus)
	}
	in.machine = tiny.Machine{Platform: plat, CPUs: o.cpus}
	if in.mode, err = tiny.ParseMode(o.mode); err != nil {
		return nil, usagef("--mode: %v", err)
	}
	if in.workload.Connector, err = tiny.ParseConnector(o.connector); err != nil {
		return nil, usagef("--connector: %v", err)
	}
	if in.workload.Submit, err = tiny.ParseSubmit(o.submit); err != nil {
		return nil, usagef("--submit: %v", err)
	}
	if in.flinkVer == "" || strings.IndexFunc(in.flinkVer, func(r rune) bool { return (r < '0' || r > '9') && r != '.' }) >= 0 {
		return nil, usagef("--flink-version %q: want a Flink version such as 1.17, 1.20 or 2.0", o.flink)
	}
	if strings.HasPrefix(in.flinkVer, "2") {
		in.profile = memory.Flink2
	}
	if o.budget != "" {
		b, ex := flinkconf.ParseMemorySize(o.budget)
		if ex != nil {
			return nil, usagef("--budget %q: not a memory size; write a whole number with a unit %s, e.g. 256m", o.budget, flinkconf.MemoryUnitsHelp)
		}
		if b <= 0 {
			return nil, usagef("--budget %q: want a positive size, e.g. 256m", o.budget)
		}
		in.budget = b
	}
	if o.throughput != "" {
		rs, ex := flinkconf.ParseMemorySize(o.recordSize)
		if ex != nil || rs <= 0 {
			return nil, usagef("--record-size %q: want a positive memory size, e.g. 1kb", o.recordSize)
		}
		r, err := tiny.ParseRate(o.throughput, rs)
		if err != nil {
			return nil, usagef("--throughput: %v", err)
		}
		if r <= 0 {
			return nil, usagef("--throughput %q: want a positive rate", o.throughput)
		}
		if in.workload.Connector == tiny.ConnectorNone {
			return nil, usagef("--throughput needs a job: --connector none is an empty cluster")
		}
		in.workload.Throughput = r
	}
	in.evaluate = cmd.Flags().Changed("jvm") || len(o.sets) > 0
	if in.evaluate {
		for _, name := range []string{"gc", "jit", "threads", "headroom"} {
			if cmd.Flags().Changed(name) {
				return nil, usagef("--%s chooses what to try when planning; to evaluate a setup give the JVM flag in --jvm instead (e.g. -XX:+UseSerialGC, -XX:TieredStopAtLevel=1)", name)
			}
		}
		if in.jvm, err = tiny.ParseJVMFlags(o.jvm); err != nil {
			return nil, usagef("--jvm: %v", err)
		}
		for _, f := range in.jvm.Ignored {
			in.warnings = append(in.warnings, fmt.Sprintf("JVM flag %s is not part of the model; ignored", f))
		}
		cfg := flinkconf.New()
		if err := cfg.ApplyOverrides(o.sets); err != nil {
			return nil, usageError{err}
		}
		for _, w := range cfg.Misspellings(append(append([]flinkconf.Option{}, flinkconf.KnownOptions...), tiny.Options...)) {
			in.warnings = append(in.warnings, w.String())
		}
		in.flinkCfg = cfg
		if in.mode == tiny.MiniCluster && in.jvm.Heap == 0 {
			return nil, usagef("--jvm must give -Xmx to evaluate a MiniCluster, e.g. --jvm \"-Xmx64m\"")
		}
		return in, nil
	}
	if o.headroom < 0 || o.headroom > 10 {
		return nil, usagef("--headroom %v: want a fraction between 0 and 10, e.g. 0.2 for +20%%", o.headroom)
	}
	req := tiny.Request{Mode: in.mode, Machine: in.machine, Connector: in.workload.Connector, Submit: in.workload.Submit,
		Throughput: in.workload.Throughput, Headroom: o.headroom, Budget: in.budget, FlinkVersion: in.flinkVer}
	if req.GC, err = tiny.ParseGC(o.gc); err != nil {
		return nil, usagef("--gc: %v", err)
	}
	if req.JIT, err = tiny.ParseJIT(o.jit); err != nil {
		return nil, usagef("--jit: %v", err)
	}
	if req.Threads, err = tiny.ParseThreads(o.threads); err != nil {
		return nil, usagef("--threads: %v", err)
	}
	in.request = req
	return in, nil
}

func runMemoryTiny(cmd *cobra.Command, o *tinyOpts) error {
	in, err := parseTinyInput(cmd, o)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	for _, w := range in.warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if in.evaluate {
		return runTinyEvaluate(cmd, o, in)
	}
	plan, err := tiny.NewPlan(in.request)
	if err != nil {
		var be *tiny.BudgetError
		if errors.As(err, &be) {
			fmt.Fprintln(stderr, "flinktune:", be.Error())
			return exitError{ExitFailure}
		}
		return err
	}
	out := cmd.OutOrStdout()
	switch o.output {
	case "table":
		writeTinyPlan(out, in, plan)
	case "flags":
		writeTinyFlags(out, plan.JVMFlags, plan.FlinkConfig)
	default:
		return encodeTiny(out, o.output, tinyPlanDoc(in, plan))
	}
	return nil
}

func runTinyEvaluate(cmd *cobra.Command, o *tinyOpts, in *tinyInput) error {
	setup := tiny.Setup{Mode: in.mode, Machine: in.machine, JVM: in.jvm, Workload: in.workload}
	var tm *memory.TaskManager
	var err error
	if in.mode == tiny.TaskManager {
		setup.JVM, setup.Flink, tm, err = tiny.TaskManagerFromConfig(in.flinkCfg, in.jvm, in.profile)
		if err != nil {
			var ex *flinkconf.Exception
			if errors.As(err, &ex) {
				fmt.Fprintln(cmd.ErrOrStderr(), "Flink rejects this TaskManager configuration:")
				writeFailure(cmd.ErrOrStderr(), err, "  ")
				return exitError{ExitFailure}
			}
			return usagef("%v", err)
		}
	} else if setup.Flink, err = tiny.FlinkFromConfig(in.flinkCfg); err != nil {
		return usagef("--set: %v", err)
	}
	est, err := tiny.Evaluate(setup)
	if err != nil {
		return usagef("%v", err)
	}
	failed := est.Failure != nil
	if in.budget > 0 && est.Failure == nil && size(est, tm) > in.budget {
		failed = true
		est.Warnings = append(est.Warnings, fmt.Sprintf("the estimate (%s) exceeds the budget of %s", tiny.HumanSize(size(est, tm)), tiny.HumanSize(in.budget)))
	}
	out := cmd.OutOrStdout()
	switch o.output {
	case "table":
		writeTinyEvaluation(out, in, est, tm)
	case "flags":
		if est.Failure != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s\n", est.Failure.Message)
		} else {
			writeTinyFlags(out, evaluatedFlags(est, tm), evaluatedFlink(in, est))
		}
	default:
		if err := encodeTiny(out, o.output, tinyEvalDoc(in, est, tm)); err != nil {
			return err
		}
	}
	if failed {
		return exitError{ExitFailure}
	}
	return nil
}

// size is what a budget is compared with: Flink's total process memory for a TaskManager, the
// resident estimate otherwise.
func size(e *tiny.Estimate, tm *memory.TaskManager) int64 {
	if tm != nil {
		return tm.TotalProcess
	}
	return e.Resident
}

// evaluatedFlags renders the resolved JVM settings of an evaluated setup as flags.
func evaluatedFlags(e *tiny.Estimate, tm *memory.TaskManager) []string {
	j := e.Setup.JVM
	var f []string
	if tm != nil {
		f = append(f, strings.Fields(tm.JVMArgs())...)
	} else {
		f = append(f, "-Xmx"+tiny.JVMSize(j.Heap))
		if j.InitialHeap > 0 {
			f = append(f, "-Xms"+tiny.JVMSize(j.InitialHeap))
		}
		if j.MaxMetaspace > 0 {
			f = append(f, "-XX:MaxMetaspaceSize="+tiny.JVMSize(j.MaxMetaspace))
		}
		if j.MaxDirect > 0 {
			f = append(f, "-XX:MaxDirectMemorySize="+tiny.JVMSize(j.MaxDirect))
		}
	}
	f = append(f, "-Xss"+tiny.JVMSize(j.ThreadStack), j.GC.Flag())
	if j.CodeCache > 0 {
		f = append(f, "-XX:ReservedCodeCacheSize="+tiny.JVMSize(j.CodeCache))
	}
	if j.JIT == tiny.JITC1 {
		f = append(f, "-XX:TieredStopAtLevel=1")
	}
	if j.ActiveProcessors != e.Setup.Machine.CPUs {
		f = append(f, "-XX:ActiveProcessorCount="+strconv.Itoa(j.ActiveProcessors))
	}
	if j.NIOCacheLimit > 0 {
		f = append(f, "-Djdk.nio.maxCachedBufferSize="+strconv.FormatInt(j.NIOCacheLimit, 10))
	}
	return f
}

// evaluatedFlink lists the Flink options that were given, as they were given.
func evaluatedFlink(in *tinyInput, _ *tiny.Estimate) []tiny.KeyValue {
	var kv []tiny.KeyValue
	for _, k := range in.flinkCfg.Keys() {
		v, _ := in.flinkCfg.Get(k)
		kv = append(kv, tiny.KeyValue{Key: k, Value: v})
	}
	return kv
}

func writeTinyFlags(w io.Writer, flags []string, cfg []tiny.KeyValue) {
	fmt.Fprintln(w, strings.Join(flags, " "))
	var d []string
	for _, kv := range cfg {
		v := kv.Value
		if strings.ContainsAny(v, " \t'\"") {
			v = "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
		}
		d = append(d, "-D "+kv.Key+"="+v)
	}
	fmt.Fprintln(w, strings.Join(d, " "))
}

func tinyHeader(in *tinyInput, verb string) string {
	parts := []string{"Tiny Flink", verb, in.mode.Title(), in.workload.Connector.Title()}
	if in.workload.Connector != tiny.ConnectorNone && in.mode == tiny.MiniCluster {
		parts = append(parts, "submitted "+map[tiny.Submit]string{tiny.SubmitLocal: "locally", tiny.SubmitREST: "through REST"}[in.workload.Submit])
	}
	parts = append(parts, fmt.Sprintf("%s, %d CPU(s)", in.machine.Platform.Name, in.machine.CPUs))
	return strings.Join(parts, " · ")
}

func writeTinyPlan(w io.Writer, in *tinyInput, p *tiny.Plan) {
	fmt.Fprintln(w, tinyHeader(in, "plan"))
	fmt.Fprintf(w, "Goal: %s\n", p.Goal)
	if in.mode == tiny.TaskManager {
		fmt.Fprintln(w, "\nJVM flags (env.java.opts.taskmanager; Flink adds the memory flags below)")
	} else {
		fmt.Fprintln(w, "\nJVM flags")
	}
	fmt.Fprintf(w, "  %s\n", strings.Join(p.JVMFlags, " "))
	fmt.Fprintln(w, "\nFlink configuration")
	for _, kv := range p.FlinkConfig {
		fmt.Fprintf(w, "  %s: %s\n", kv.Key, kv.Value)
	}
	if p.TaskManager != nil {
		fmt.Fprintf(w, "\nFlink's derivation: total process memory %s (-Xmx and direct, metaspace limits as Flink passes them)\n", tiny.HumanSize(p.TaskManager.TotalProcess))
		fmt.Fprintf(w, "  %s\n", p.TaskManager.JVMArgs())
	}
	writeTinyEstimate(w, p.Estimate)
	sizeTitle := "Resident"
	if p.TaskManager != nil {
		sizeTitle = "Process" // Flink's total process memory
	}
	fmt.Fprintln(w, "\nConsidered (the chosen one is marked *)")
	rows := [][]string{{"", "GC", "JIT", "CPUs", "Slots", "Heap", sizeTitle, "Throughput"}}
	for _, c := range p.Considered {
		mark := ""
		if c.Chosen {
			mark = "*"
		}
		rows = append(rows, []string{mark, c.GC, c.JIT, strconv.Itoa(c.ActiveProcessors), strconv.Itoa(c.Slots),
			tiny.HumanSize(c.Heap), tiny.HumanSize(c.Size), c.Capacity.String()})
	}
	writeColumns(w, "  ", rows, map[int]bool{3: true, 4: true, 5: true, 6: true, 7: true})
	fmt.Fprintln(w, "\nNotes")
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  - %s\n", n)
	}
}

func writeTinyEvaluation(w io.Writer, in *tinyInput, e *tiny.Estimate, tm *memory.TaskManager) {
	fmt.Fprintln(w, tinyHeader(in, "evaluate"))
	fmt.Fprintf(w, "JVM: %s\n", strings.Join(evaluatedFlags(e, tm), " "))
	direct := e.DirectLimitSource
	fmt.Fprintf(w, "     heap %s, direct memory limit %s (%s)\n", tiny.HumanSize(e.HeapCommitted), tiny.HumanSize(e.DirectLimit), direct)
	fmt.Fprintf(w, "Flink: network memory %s, %d slot(s)\n", tiny.HumanSize(e.Setup.Flink.Network), e.Setup.Flink.Slots)
	if tm != nil {
		fmt.Fprintf(w, "Flink's derivation: total process memory %s\n", tiny.HumanSize(tm.TotalProcess))
	}
	if f := e.Failure; f != nil && f.Phase == "startup" {
		fmt.Fprintln(w, "\nThe process does not start:")
		fmt.Fprintf(w, "  Exception in thread \"main\" %s\n", f.Message)
		fmt.Fprintf(w, "\n  why: %s\n  fix: %s\n", f.Why, f.Fix)
		return
	}
	writeTinyEstimate(w, e)
	if f := e.Failure; f != nil {
		fmt.Fprintf(w, "\nUnder %s the job fails:\n  %s\n\n  why: %s\n  fix: %s\n", e.Setup.Workload.Throughput, f.Message, f.Why, f.Fix)
	}
	for _, m := range e.Warnings {
		fmt.Fprintf(w, "\nwarning: %s\n", m)
	}
}

func writeTinyEstimate(w io.Writer, e *tiny.Estimate) {
	fmt.Fprintf(w, "\nEstimated resident size: %s (model tolerance ±15%%)\n", tiny.HumanSize(e.Resident))
	rows := [][]string{{"Component", "Resident", "Share", "NMT committed", "How"}}
	for _, c := range e.Components {
		share := 0.0
		if e.Resident > 0 {
			share = float64(c.Resident) / float64(e.Resident) * 100
		}
		rows = append(rows, []string{c.Title, tiny.HumanSize(c.Resident), fmt.Sprintf("%.1f%%", share), tiny.HumanSize(c.Committed), c.Detail})
	}
	rows = append(rows, []string{"Total", tiny.HumanSize(e.Resident), "100%", tiny.HumanSize(e.Committed), ""})
	writeColumns(w, "  ", rows, map[int]bool{1: true, 2: true, 3: true})
	if e.ThroughputHow != "" {
		fmt.Fprintf(w, "\nThroughput: sustains ~%s (%s)\n", e.Capacity, e.ThroughputHow)
	} else if e.Setup.Workload.Connector != tiny.ConnectorNone {
		fmt.Fprintf(w, "\nThroughput: sustains ~%s (memory bound %s: %s per MiB of heap above the %s the job needs; CPU bound %s: %d slot(s))\n",
			e.Capacity, e.MemoryBound, tiny.Rate(e.ThroughputPerHeap*float64(tiny.MiB)), tiny.HumanSize(e.HeapFloor), e.CPUBound, e.Setup.Flink.Slots)
	}
	fmt.Fprintf(w, "\nThreads: %d\n", e.ThreadCount)
	rows = [][]string{{"Pool", "Threads", "Each", "Sized by"}}
	for _, g := range e.Threads {
		n := strconv.Itoa(g.Count)
		if g.Max > 0 {
			n += " of " + strconv.Itoa(g.Max)
		}
		rows = append(rows, []string{g.Name, n, tiny.HumanSize(g.PerThread), g.Control})
	}
	writeColumns(w, "  ", rows, map[int]bool{1: true, 2: true})
}

// writeColumns prints rows as aligned columns; right marks right-aligned columns.
func writeColumns(w io.Writer, indent string, rows [][]string, right map[int]bool) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], runeLen(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			if right[i] {
				b.WriteString(padLeft(c, widths[i]))
			} else {
				b.WriteString(pad(c, widths[i]))
			}
		}
		fmt.Fprintln(w, indent+strings.TrimRight(b.String(), " "))
	}
}

// Documents of -o json and yaml.

type tinyJVMDoc struct {
	GC       string `json:"gc" yaml:"gc"`
	JIT      string `json:"jit" yaml:"jit"`
	tiny.JVM `yaml:",inline"`
}

type tinySetupDoc struct {
	Mode       string     `json:"mode" yaml:"mode"`
	Platform   string     `json:"platform" yaml:"platform"`
	CPUs       int        `json:"cpus" yaml:"cpus"`
	Connector  string     `json:"connector" yaml:"connector"`
	Submit     string     `json:"submit" yaml:"submit"`
	Throughput tiny.Rate  `json:"throughput" yaml:"throughput"`
	JVM        tinyJVMDoc `json:"jvm" yaml:"jvm"`
	Flink      tiny.Flink `json:"flink" yaml:"flink"`
}

type tinyDoc struct {
	Kind        string                    `json:"kind" yaml:"kind"`
	Goal        string                    `json:"goal,omitempty" yaml:"goal,omitempty"`
	Target      tiny.Rate                 `json:"target,omitempty" yaml:"target,omitempty"`
	Budget      int64                     `json:"budget,omitempty" yaml:"budget,omitempty"`
	Setup       tinySetupDoc              `json:"setup" yaml:"setup"`
	JVMFlags    []string                  `json:"jvm_flags" yaml:"jvm_flags"`
	FlinkConfig []tiny.KeyValue           `json:"flink_config" yaml:"flink_config"`
	Size        int64                     `json:"size" yaml:"size"`
	Estimate    *tiny.Estimate            `json:"estimate" yaml:"estimate"`
	TaskManager *memory.TaskManagerRecord `json:"taskmanager,omitempty" yaml:"taskmanager,omitempty"`
	Considered  []tiny.Choice             `json:"considered,omitempty" yaml:"considered,omitempty"`
	Notes       []string                  `json:"notes,omitempty" yaml:"notes,omitempty"`
	Warnings    []string                  `json:"warnings" yaml:"warnings"`
}

func setupDoc(s tiny.Setup) tinySetupDoc {
	return tinySetupDoc{Mode: s.Mode.String(), Platform: s.Machine.Platform.Name, CPUs: s.Machine.CPUs,
		Connector: s.Workload.Connector.String(), Submit: s.Workload.Submit.String(), Throughput: s.Workload.Throughput,
		JVM: tinyJVMDoc{GC: s.JVM.GC.String(), JIT: s.JVM.JIT.String(), JVM: s.JVM}, Flink: s.Flink}
}

func tinyPlanDoc(in *tinyInput, p *tiny.Plan) tinyDoc {
	d := tinyDoc{Kind: "plan", Goal: p.Goal, Target: p.Target, Budget: in.budget, Setup: setupDoc(p.Setup),
		JVMFlags: p.JVMFlags, FlinkConfig: p.FlinkConfig, Size: p.Size, Estimate: p.Estimate,
		Considered: p.Considered, Notes: p.Notes, Warnings: append([]string{}, in.warnings...)}
	if p.TaskManager != nil {
		r := p.TaskManager.Record()
		d.TaskManager = &r
	}
	return d
}

func tinyEvalDoc(in *tinyInput, e *tiny.Estimate, tm *memory.TaskManager) tinyDoc {
	d := tinyDoc{Kind: "evaluation", Budget: in.budget, Setup: setupDoc(e.Setup), JVMFlags: evaluatedFlags(e, tm),
		FlinkConfig: evaluatedFlink(in, e), Size: size(e, tm), Estimate: e, Warnings: append([]string{}, in.warnings...)}
	if d.FlinkConfig == nil {
		d.FlinkConfig = []tiny.KeyValue{}
	}
	if tm != nil {
		r := tm.Record()
		d.TaskManager = &r
	}
	return d
}

func encodeTiny(w io.Writer, format string, doc tinyDoc) error {
	return writeCamelDoc(w, format, doc)
}

// withSerialRates applies --serial-rates CACHED,UNCACHED[,PAIR] to the platform.
func withSerialRates(p tiny.Platform, v string) (tiny.Platform, error) {
	parts := strings.Split(v, ",")
	var x []float64
	for _, part := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil {
			break
		}
		x = append(x, f)
	}
	if len(x) != len(parts) || len(x) < 2 || len(x) > 3 {
		return p, usagef("--serial-rates %q: want two numbers, MiB per CPU-second with the eden in the cache and out of it, and optionally a third, a slot's rate beside another over its rate alone, e.g. 5200,2300 or 5200,2300,0.7", v)
	}
	q, err := p.WithSerialRates(x[0], x[1])
	if err == nil && len(x) == 3 {
		q, err = q.WithSerialPairFactor(x[2])
	}
	if err != nil {
		return p, usagef("--serial-rates %q: %v", v, err)
	}
	return q, nil
}
