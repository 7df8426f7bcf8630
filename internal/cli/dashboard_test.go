package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The dashboard's flags and reports (the page itself is tested in package dashboard).

func TestPlanHTML(t *testing.T) {
	page := filepath.Join(t.TempDir(), "plan.html")
	_, errOut, code := runPlanCLI(t, "", filepath.Join(examplesDir, "fragmentation.yaml"), "--html", page, "--no-search")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, want := range []string{"<!doctype html>", "<svg ", "Recommended: 6 TaskManagers (lower bound 6)", "</html>"} {
		if !strings.Contains(s, want) {
			t.Errorf("plan --html lacks %q", want)
		}
	}
	if strings.Contains(s, `src="http`) || strings.Contains(s, `href="http`) {
		t.Error("plan --html refers to an outside file: it must be self-contained")
	}
}

func TestDashboardUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--flink", "http://x:8081", "--dashboard-points", "0"}, "--dashboard-points 0"},
		{[]string{"demo", "--listen", "nonsense"}, "--listen"},
		{[]string{"bench", "--generate", "2", "--report", "r.html"}, "--report draws --scenario runs"},
	} {
		_, errOut, code := runCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want usage error containing %q", tc.args, code, errOut, tc.want)
		}
	}
}
