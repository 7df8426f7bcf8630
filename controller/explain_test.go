package controller

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/store"
)

func TestExplainer(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var e explainer
	key := store.JobKey{Cluster: "c", JobID: "j"}
	t0 := time.Unix(1_700_000_000, 0)
	step := func(i int, acted bool, reason string, jobStep time.Duration) string {
		buf.Reset()
		e.note(log, key, acted, reason, t0.Add(time.Duration(i)*jobStep), t0.Add(time.Duration(i)*10*time.Second), 10*time.Second)
		return buf.String()
	}
	// A passing state is not explained; one that holds is, with how long, then once a minute.
	if out := step(0, false, "job is RESTARTING", 10*time.Second); out != "" {
		t.Errorf("first cycle of a reason logged: %s", out)
	}
	if out := step(1, false, "collecting metrics: 1 sample(s), need 2", 10*time.Second); out != "" {
		t.Errorf("first cycle of a new reason logged: %s", out)
	}
	out := step(2, false, "collecting metrics: 2 sample(s), need 2", 10*time.Second)
	if !strings.Contains(out, "job not acted on") || !strings.Contains(out, "for=10s") || !strings.Contains(out, "need 2") {
		t.Errorf("second cycle of the same kind of reason: %q", out)
	}
	for i := 3; i < 8; i++ {
		if out := step(i, false, "collecting metrics: 2 sample(s), need 2", 10*time.Second); out != "" {
			t.Errorf("cycle %d logged again within a minute: %s", i, out)
		}
	}
	if out := step(8, false, "collecting metrics", 10*time.Second); !strings.Contains(out, "for=1m10s") {
		t.Errorf("a minute later: %q", out)
	}
	if out := step(9, true, "", 10*time.Second); out != "" {
		t.Errorf("an evaluated job logged: %s", out)
	}
	// Cycles ten minutes apart in the job's time (an unmeasured --speed 60) are pointed out.
	step(10, false, "collecting metrics", 10*time.Minute)
	out = step(11, false, "collecting metrics", 10*time.Minute)
	if !strings.Contains(out, "jobTimeBetweenCycles=10m0s") {
		t.Errorf("far-apart cycles not explained: %q", out)
	}
}

// Reasons that alternate every cycle (fresh metrics arrive every third cycle) are explained at
// most once per explainGap.
func TestExplainerAlternating(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var e explainer
	key := store.JobKey{Cluster: "c", JobID: "j"}
	t0 := time.Unix(1_700_000_000, 0)
	reasons := []string{"waiting for fresh metrics", "waiting for fresh metrics", "collecting metrics"}
	for i := range 300 { // 30 s of wall time at 100 ms
		e.note(log, key, false, reasons[i%3], t0.Add(time.Duration(i)*3*time.Second), t0.Add(time.Duration(i)*100*time.Millisecond), 3*time.Second)
	}
	if n := strings.Count(buf.String(), "job not acted on"); n < 1 || n > 4 {
		t.Errorf("%d explanations in 30 s:\n%s", n, buf.String())
	}
}

func TestReasonKind(t *testing.T) {
	for in, want := range map[string]string{
		"collecting metrics: 1 sample(s), need 2":    "collecting metrics",
		"metric window not full until X (3 samples)": "metric window",
		"job is RESTARTING":                          "job is",
		"":                                           "",
		"stabilizing(after)":                         "stabilizing after)",
	} {
		if got := reasonKind(in); got != want {
			t.Errorf("reasonKind(%q) = %q, want %q", in, got, want)
		}
	}
}
