package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flinktune/flinktune/scenario"
)

// kafkaClasspathFile lists the broker's jars (kafka_2.13 and its dependencies, from flink/kafka)
// in a prepared Dist; the broker runs on its own classpath because its kafka-clients (4.x) is
// not the connector's.
const kafkaClasspathFile = "kafka-classpath.txt"

// KafkaClasspath is the broker's classpath prepared beside the dist's, or an error that says how
// to prepare it.
func (d *Dist) KafkaClasspath() ([]string, error) {
	b, err := os.ReadFile(filepath.Join(d.Dir, kafkaClasspathFile))
	if err != nil {
		return nil, fmt.Errorf("no Kafka broker prepared for Flink %s in %s (%w): run `FLINKTUNE_FLINK_VERSIONS=%s scripts/integration.d/10-real-flink.sh`",
			d.Version, d.Dir, err, d.Version)
	}
	var cp []string
	for _, p := range filepath.SplitList(strings.TrimSpace(string(b))) {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("Kafka broker classpath of %s: %w; run scripts/integration.d/10-real-flink.sh again", d.Dir, err)
		}
		cp = append(cp, p)
	}
	if len(cp) == 0 {
		return nil, fmt.Errorf("%s: empty", filepath.Join(d.Dir, kafkaClasspathFile))
	}
	return cp, nil
}

// Broker is a single-node Kafka broker in KRaft mode (broker and controller in one JVM) on
// 127.0.0.1, with its data and log under Dir.
type Broker struct {
	Dir       string
	Bootstrap string // host:port of the PLAINTEXT listener
	Ports     []int  // broker and controller listener
	Proc      *Process
	// Loads are the producers started for submitted jobs (KafkaLoad); they stop with the broker.
	Loads []*Process
}

// StartKafka formats a KRaft log directory under dir and starts the broker, waiting until it
// reports itself started. Detached, the broker outlives this process (flinktune local up);
// otherwise it dies with it.
func StartKafka(ctx context.Context, d *Dist, dir string, detached bool) (*Broker, error) {
	cp, err := d.KafkaClasspath()
	if err != nil {
		return nil, err
	}
	// A broker lives as long as its cluster: data left by an earlier one in the same directory
	// carries another cluster id, which the format step refuses.
	if err := os.RemoveAll(filepath.Join(dir, "data")); err != nil {
		return nil, err
	}
	for _, sub := range []string{"data", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	b := &Broker{Dir: dir, Bootstrap: fmt.Sprintf("127.0.0.1:%d", ports[0]), Ports: ports}
	props := kafkaServerProperties(ports[0], ports[1], filepath.Join(dir, "data"))
	conf := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(conf, []byte(props), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "log4j2.properties"), []byte(kafkaLog4j), 0o644); err != nil {
		return nil, err
	}
	logFile := filepath.Join(dir, "log", "kafka.log")
	jvm := []string{"-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k",
		"-Dlog.file=" + logFile, "-Dkafka.logs.dir=" + filepath.Join(dir, "log"),
		"-Dlog4j2.configurationFile=file:" + filepath.Join(dir, "log4j2.properties")}
	id, err := clusterID()
	if err != nil {
		return nil, err
	}
	// kafka-storage.sh format: the log directory must carry the cluster id before the first start.
	format := kafkaCommand(ctx, cp, jvm, "kafka.tools.StorageTool", "format", "-t", id, "-c", conf, "--ignore-formatted")
	var fout bytes.Buffer
	format.Stdout, format.Stderr = &fout, &fout
	if err := format.Run(); err != nil {
		return nil, fmt.Errorf("format Kafka log directory: %w\n%s", err, tail(fout.Bytes(), 2000))
	}
	p := &Process{Role: "kafka", ID: "kafka", Log: logFile, Out: filepath.Join(dir, "log", "kafka.out"), done: make(chan struct{})}
	cmdCtx := ctx
	if detached {
		cmdCtx = context.Background()
	}
	cmd := kafkaCommand(cmdCtx, cp, jvm, "kafka.Kafka", conf)
	if err := startProcess(p, cmd, jvm, nil, detached); err != nil {
		return nil, err
	}
	b.Proc = p
	if err := waitLogLine(ctx, p, "Kafka Server started", 2*time.Minute); err != nil {
		b.Stop()
		return nil, err
	}
	return b, nil
}

// kafkaServerProperties is a single-node KRaft configuration sized for a small shared machine:
// replication factor 1 for the internal topics, few threads, a small cleaner buffer.
func kafkaServerProperties(brokerPort, controllerPort int, dataDir string) string {
	lines := []string{
		"process.roles=broker,controller",
		"node.id=1",
		fmt.Sprintf("controller.quorum.voters=1@127.0.0.1:%d", controllerPort),
		fmt.Sprintf("listeners=PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", brokerPort, controllerPort),
		fmt.Sprintf("advertised.listeners=PLAINTEXT://127.0.0.1:%d", brokerPort),
		"controller.listener.names=CONTROLLER",
		"inter.broker.listener.name=PLAINTEXT",
		"listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
		"log.dirs=" + dataDir,
		"num.partitions=1",
		"offsets.topic.replication.factor=1",
		"offsets.topic.num.partitions=4",
		"transaction.state.log.replication.factor=1",
		"transaction.state.log.min.isr=1",
		"share.coordinator.state.topic.replication.factor=1",
		"share.coordinator.state.topic.min.isr=1",
		"group.initial.rebalance.delay.ms=0",
		"num.network.threads=2",
		"num.io.threads=2",
		"background.threads=2",
		"log.cleaner.threads=1",
		"log.cleaner.dedupe.buffer.size=8388608",
		"auto.create.topics.enable=false",
	}
	return strings.Join(lines, "\n") + "\n"
}

const kafkaLog4j = `monitorInterval=0
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = ${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-40c - %m%n
`

// clusterID is a random KRaft cluster id: 16 bytes, base64url without padding, as
// kafka-storage.sh random-uuid prints.
func clusterID() (string, error) { return clusterIDFrom(rand.Reader) }

// clusterIDFrom draws ids from r until one does not start with '-', as Kafka's Uuid.randomUuid
// does: the format tool's argument parser reads "-t -abc..." as a missing id followed by an
// option (one id in 64 starts with '-'; CI met one: "argument --cluster-id/-t: expected one
// argument").
func clusterIDFrom(r io.Reader) (string, error) {
	for {
		var b [16]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", err
		}
		b[6] = b[6]&0x0f | 0x40 // a version-4 UUID never collides with Kafka's reserved ids
		b[8] = b[8]&0x3f | 0x80
		if id := base64.RawURLEncoding.EncodeToString(b[:]); !strings.HasPrefix(id, "-") {
			return id, nil
		}
	}
}

func kafkaCommand(ctx context.Context, cp, jvm []string, mainClass string, args ...string) *exec.Cmd {
	argv := append(append([]string{}, jvm...), "-cp", strings.Join(cp, string(os.PathListSeparator)), mainClass)
	cmd := exec.CommandContext(ctx, JavaBinary(), append(argv, args...)...)
	cmd.SysProcAttr = childAttr()
	return cmd
}

// startProcess starts cmd as p: its own process group, stdout and stderr to p.Out, killed with
// its group when ctx ends; detached, it does not die with this process.
func startProcess(p *Process, cmd *exec.Cmd, jvm, dynamic []string, detached bool) error {
	if detached {
		cmd.SysProcAttr.Pdeathsig = 0
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := os.OpenFile(p.Out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.ID, err)
	}
	p.cmd, p.PID = cmd, cmd.Process.Pid
	p.JVMArgs, p.DynamicProperties = jvm, dynamic
	go func() { _ = cmd.Wait(); close(p.done) }()
	return nil
}

// waitLogLine waits until p's log or output holds line, failing early when p exits.
func waitLogLine(ctx context.Context, p *Process, line string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		for _, f := range []string{p.Log, p.Out} {
			if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(line)) {
				return nil
			}
		}
		if !p.Alive() {
			return fmt.Errorf("%s exited during start-up; see %s and %s", p.ID, p.Log, p.Out)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s (no %q); see %s", p.ID, timeout, line, p.Log)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// Stop ends the producers and the broker and waits until the broker's ports are free.
func (b *Broker) Stop() error {
	if b == nil {
		return nil
	}
	for _, l := range b.Loads {
		l.Kill(5 * time.Second)
	}
	b.Proc.Kill(15 * time.Second)
	return waitPortsFree(b.Ports, 10*time.Second)
}

// SpecKafka is a source vertex's topic: ScenarioJob reads it with Flink's Kafka connector and
// KafkaLoad fills it by the vertex's load schedule.
type SpecKafka struct {
	Bootstrap string `json:"bootstrap"`
	Topic     string `json:"topic"`
}

var topicUnsafe = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// UseKafka makes every source of spec read a topic of its own on the broker at bootstrap
// (named after the job, the vertex and the load origin, so that a new submission starts from an
// empty topic) instead of the built-in scheduled source.
func (s *JobSpec) UseKafka(bootstrap string) {
	for i := range s.Vertices {
		v := &s.Vertices[i]
		if v.Load == nil {
			continue
		}
		v.Kafka = &SpecKafka{Bootstrap: bootstrap,
			Topic: topicUnsafe.ReplaceAllString(s.Name+"."+v.ID, "_") + "." + strconv.FormatInt(s.OriginMs, 36)}
	}
}

// HasKafka reports whether a source of spec reads a Kafka topic.
func (s *JobSpec) HasKafka() bool {
	for _, v := range s.Vertices {
		if v.Kafka != nil {
			return true
		}
	}
	return false
}

// StartKafkaLoad starts the producer of spec's Kafka sources (the harness's KafkaLoad, which
// creates each topic with the source's partitions and writes its start backlog) and waits until
// every backlog is in its topic. Its output is kept in dir.
func StartKafkaLoad(ctx context.Context, d *Dist, dir string, spec *JobSpec, detached bool) (*Process, error) {
	if !spec.HasKafka() {
		return nil, errors.New("kafka load: no source of the spec reads a Kafka topic (JobSpec.UseKafka)")
	}
	f, err := writeSpec(dir, spec)
	if err != nil {
		return nil, err
	}
	name := "kafka-load-" + strconv.FormatInt(spec.OriginMs, 36)
	p := &Process{Role: "kafka-load", ID: name, Log: filepath.Join(dir, name+".out"), Out: filepath.Join(dir, name+".out"), done: make(chan struct{})}
	jvm := []string{"-Xmx96m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k", "-Dlog4j2.level=WARN"}
	cmdCtx := ctx
	if detached {
		cmdCtx = context.Background()
	}
	cmd := d.JavaCommand(cmdCtx, jvm, "io.flinktune.harness.kafka.KafkaLoad", "--spec", f)
	if err := startProcess(p, cmd, jvm, nil, detached); err != nil {
		return nil, err
	}
	if err := waitLogLine(ctx, p, "ready\n", 2*time.Minute); err != nil {
		p.Kill(5 * time.Second)
		b, _ := os.ReadFile(p.Out)
		return nil, fmt.Errorf("kafka load: %w\n%s", err, tail(b, 3000))
	}
	return p, nil
}

// writeSpec writes spec as JSON into dir and returns the file's path.
func writeSpec(dir string, spec *JobSpec) (string, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	f := filepath.Join(dir, "job-"+strconv.FormatInt(time.Now().UnixNano(), 36)+".json")
	return f, os.WriteFile(f, b, 0o644)
}

// SubmitKafkaScenario runs spec's sources on the cluster's broker: it starts the producer, then
// submits the job. The producer stops with the cluster.
func (c *Cluster) SubmitKafkaScenario(ctx context.Context, spec *JobSpec) (string, error) {
	if c.Kafka == nil {
		return "", errors.New("the cluster runs no Kafka broker (StartKafka)")
	}
	spec.UseKafka(c.Kafka.Bootstrap)
	load, err := StartKafkaLoad(ctx, c.Spec.Dist, c.Spec.Dir, spec, c.Spec.Detached)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.Kafka.Loads = append(c.Kafka.Loads, load)
	c.mu.Unlock()
	return c.SubmitScenario(ctx, spec)
}

// StartKafka starts a broker for the cluster (in its directory's kafka/, detached when the
// cluster is) and records it in the cluster's state, so that Stop and local down end it too.
func (c *Cluster) StartKafka(ctx context.Context) error {
	b, err := StartKafka(ctx, c.Spec.Dist, filepath.Join(c.Spec.Dir, "kafka"), c.Spec.Detached)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.Kafka = b
	c.mu.Unlock()
	return c.writeState()
}

// RecordProcess adds a process started outside a Cluster value (a detached producer of
// flinktune local submit) to the state of the cluster in dir, so that local down ends it.
func RecordProcess(dir string, p *Process) error {
	s, err := ReadState(dir)
	if err != nil {
		return err
	}
	s.Processes = append(s.Processes, ProcessState{Role: p.Role, ID: p.ID, PID: p.PID, Log: p.Log})
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, stateFile), b, 0o644)
}

// ScenarioVersion is the scenario Flink line the dist's version belongs to (its timers and
// option keys): 1.20 for 1.x, 2.0 for 2.x.
func ScenarioVersion(d *Dist) scenario.Version {
	if d.Major() == 1 {
		return scenario.V120
	}
	return scenario.V20
}
