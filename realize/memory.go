package realize

// Configuration changes from memory tuning, rendered for the platform that deploys the
// TaskManagers: a diff of flink-conf.yaml (Flink up to 1.x, flat "key: value" lines) or of
// config.yaml (Flink 1.19+, standard YAML), -D dynamic properties, a FlinkDeployment merge
// patch for the Kubernetes operator, and a realizer for the simulator's extension endpoint.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

// Applied returns current with the removals deleted and the overrides set.
func Applied(current, overrides map[string]string, removals []string) map[string]string {
	out := maps.Clone(current)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range removals {
		delete(out, k)
	}
	maps.Copy(out, overrides)
	return out
}

// changedKeys are the keys whose value changes, sorted.
func changedKeys(current, next map[string]string) []string {
	keys := map[string]bool{}
	for k, v := range next {
		if c, ok := current[k]; !ok || c != v {
			keys[k] = true
		}
	}
	for k := range current {
		if _, ok := next[k]; !ok {
			keys[k] = true
		}
	}
	return slices.Sorted(maps.Keys(keys))
}

// FlinkConfDiff renders the change as a diff of a legacy flink-conf.yaml: "-key: old" for
// every value that goes, "+key: new" for every value that comes, sorted by key. current may be
// nil (only additions and bare removals are shown then). Values are written as flink-conf.yaml
// reads them: raw, after "key: ".
func FlinkConfDiff(current, overrides map[string]string, removals []string) string {
	next := Applied(current, overrides, removals)
	var b strings.Builder
	b.WriteString("--- flink-conf.yaml\n+++ flink-conf.yaml (tuned)\n")
	for _, k := range changedKeys(current, next) {
		if v, ok := current[k]; ok {
			b.WriteString("-" + k + ": " + v + "\n")
		}
		if v, ok := next[k]; ok {
			b.WriteString("+" + k + ": " + v + "\n")
		}
	}
	if current == nil {
		for _, k := range removals {
			b.WriteString("-" + k + "\n")
		}
	}
	return b.String()
}

// ConfigYAMLDiff renders the change as a diff of a standard-YAML config.yaml (Flink 1.19+):
// the keys that change, nested by their dots as Flink writes config.yaml, before ("-") and
// after ("+"); values are YAML scalars (quoted where YAML would read them as another type or
// syntax). A key that cannot nest (another key is its prefix) stays flat at its level.
func ConfigYAMLDiff(current, overrides map[string]string, removals []string) string {
	next := Applied(current, overrides, removals)
	changed := changedKeys(current, next)
	if current == nil {
		changed = slices.Sorted(maps.Keys(overrides))
		for _, k := range removals {
			if !slices.Contains(changed, k) {
				changed = append(changed, k)
			}
		}
		slices.Sort(changed)
	}
	before, after := newTree(), newTree()
	for _, k := range changed {
		if v, ok := current[k]; ok {
			before.insert(k, v)
		} else if current == nil && slices.Contains(removals, k) {
			before.insert(k, "(any value)")
		}
		if v, ok := next[k]; ok {
			after.insert(k, v)
		}
	}
	var b strings.Builder
	b.WriteString("--- config.yaml\n+++ config.yaml (tuned)\n")
	writeLineDiff(&b, before.lines(), after.lines())
	return b.String()
}

// tree nests configuration keys by their dots.
type tree struct {
	children map[string]*tree
	value    *string
}

func newTree() *tree { return &tree{children: map[string]*tree{}} }

func (t *tree) insert(key, value string) {
	parts := strings.Split(key, ".")
	node := t
	for i, p := range parts {
		last := i == len(parts)-1
		child, ok := node.children[p]
		switch {
		case last && !ok:
			node.children[p] = &tree{children: map[string]*tree{}, value: &value}
			return
		case last:
			if child.value == nil && len(child.children) == 0 {
				child.value = &value
				return
			}
			// p is already a map (or a value): keep this key flat below node.
		case !ok:
			child = newTree()
			node.children[p] = child
			node = child
			continue
		case child.value == nil:
			node = child
			continue
		}
		// Conflict: the rest of the key becomes one flat key at this level.
		node.children[strings.Join(parts[i:], ".")+"\x00"] = &tree{children: map[string]*tree{}, value: &value}
		return
	}
}

func (t *tree) lines() []string {
	var out []string
	var walk func(n *tree, indent string)
	walk = func(n *tree, indent string) {
		for _, k := range slices.Sorted(maps.Keys(n.children)) {
			c := n.children[k]
			name := yamlKey(strings.TrimSuffix(k, "\x00"))
			if c.value != nil {
				out = append(out, indent+name+": "+yamlScalar(*c.value))
				continue
			}
			out = append(out, indent+name+":")
			walk(c, indent+"  ")
		}
	}
	walk(t, "")
	return out
}

// yamlScalar renders a string so that YAML reads it back as the same text, quoted only when
// needed (yaml.v3's rules).
func yamlScalar(s string) string {
	b, err := yaml.Marshal(s)
	if err != nil {
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(string(b), "\n")
}

func yamlKey(s string) string { return yamlScalar(s) }

// writeLineDiff writes a minimal line diff (longest common subsequence): common lines with a
// space, removed with "-", added with "+".
func writeLineDiff(b *strings.Builder, a, c []string) {
	n, m := len(a), len(c)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == c[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == c[j]:
			b.WriteString(" " + a[i] + "\n")
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			b.WriteString("-" + a[i] + "\n")
			i++
		default:
			b.WriteString("+" + c[j] + "\n")
			j++
		}
	}
}

// DynamicProperties renders the overrides as Flink's dynamic properties, "-D key=value"
// joined by spaces in key order, each shell-quoted where needed ("-D 'k=1390 mb'"). Dynamic
// properties cannot unset a key: removals come as a second line, a shell comment naming the
// keys to delete from the configuration file.
func DynamicProperties(overrides map[string]string, removals []string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		parts = append(parts, "-D "+shellQuote(k+"="+overrides[k]))
	}
	s := strings.Join(parts, " ")
	if len(removals) > 0 {
		s += "\n# also delete from the configuration file (dynamic properties cannot unset keys): " + strings.Join(removals, ", ")
	}
	return s
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-=/:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ParallelismOverridesKey is pipeline.jobvertex-parallelism-overrides, through which the
// operator applies parallelism on a FlinkDeployment.
const ParallelismOverridesKey = "pipeline.jobvertex-parallelism-overrides"

// FlinkDeploymentPatch renders the change as a YAML merge patch of a FlinkDeployment, as the
// operator's KubernetesScalingRealizer writes it: the overrides into spec.flinkConfiguration
// (removals as null), the TaskManager process size into spec.taskManager.resource.memory (in
// bytes), the JobManager's into spec.jobManager.resource.memory, and, when parallelism is
// given, the parallelism overrides, so the operator applies memory and rescale in one
// redeploy.
func FlinkDeploymentPatch(overrides map[string]string, removals []string, parallelism map[string]int) (string, error) {
	conf := map[string]*string{}
	for k, v := range overrides {
		conf[k] = &v
	}
	for _, k := range removals {
		if _, ok := overrides[k]; !ok {
			conf[k] = nil
		}
	}
	if len(parallelism) > 0 {
		var parts []string
		for _, id := range slices.Sorted(maps.Keys(parallelism)) {
			parts = append(parts, id+":"+strconv.Itoa(parallelism[id]))
		}
		s := strings.Join(parts, ",")
		conf[ParallelismOverridesKey] = &s
	}
	spec := &yaml.Node{Kind: yaml.MappingNode}
	if len(conf) > 0 {
		fc := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range slices.Sorted(maps.Keys(conf)) {
			v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
			if conf[k] != nil {
				v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: *conf[k]}
			}
			fc.Content = append(fc.Content, strNode(k), v)
		}
		spec.Content = append(spec.Content, strNode("flinkConfiguration"), fc)
	}
	resource := func(field, key string) error {
		v, ok := overrides[key]
		if !ok {
			return nil
		}
		n, err := flinkconf.ParseMemorySize(v)
		if err != nil {
			return fmt.Errorf("%s: %q is not a memory size: %s", key, v, err.Message)
		}
		spec.Content = append(spec.Content, strNode(field), &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			strNode("resource"), {Kind: yaml.MappingNode, Content: []*yaml.Node{
				strNode("memory"), {Kind: yaml.ScalarNode, Tag: "!!str", Value: strconv.FormatInt(n, 10), Style: yaml.DoubleQuotedStyle},
			}},
		}})
		return nil
	}
	if err := resource("jobManager", flinkconf.JMProcessSize.Key); err != nil {
		return "", err
	}
	if err := resource("taskManager", flinkconf.TMProcessSize.Key); err != nil {
		return "", err
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{strNode("spec"), spec}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func strNode(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// SimConfigPath is the simulator's extension endpoint for the TaskManager configuration
// (package simrest): GET returns the configuration in force, PUT replaces it and rolls every
// TaskManager onto it (each job restarts once).
const SimConfigPath = "/flinktune/v1/taskmanager-config"

// SimConfig applies memory-tuning changes to the simulator through its extension endpoint; it
// implements controller.ConfigRealizer. It is idempotent: when the TaskManager configuration
// in force already has the values, it sends nothing.
type SimConfig struct {
	BaseURL string
	Client  *http.Client // nil: http.DefaultClient
}

// RealizeConfig implements controller.ConfigRealizer.
func (s *SimConfig) RealizeConfig(ctx context.Context, snap *autoscaler.Snapshot, overrides map[string]string, removals []string) (bool, error) {
	if len(overrides) == 0 && len(removals) == 0 {
		return false, nil
	}
	var cur map[string]string
	if err := s.do(ctx, http.MethodGet, nil, &cur); err != nil {
		return false, fmt.Errorf("reading the TaskManager configuration: %w", err)
	}
	next := Applied(cur, overrides, removals)
	if maps.Equal(cur, next) {
		return false, nil
	}
	if err := s.do(ctx, http.MethodPut, next, nil); err != nil {
		return false, fmt.Errorf("applying the TaskManager configuration: %w", err)
	}
	return true, nil
}

func (s *SimConfig) do(ctx context.Context, method string, in any, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(s.BaseURL, "/")+SimConfigPath, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Errors []string `json:"errors"`
		}
		if json.Unmarshal(data, &e) == nil && len(e.Errors) > 0 {
			return fmt.Errorf("%s %s: %d %s", method, SimConfigPath, resp.StatusCode, strings.Join(e.Errors, "; "))
		}
		return fmt.Errorf("%s %s: %d %s", method, SimConfigPath, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return errors.New("the simulator answered with invalid JSON: " + err.Error())
		}
	}
	return nil
}
