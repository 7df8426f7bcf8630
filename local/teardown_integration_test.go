//go:build integration

package local_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flinktune/flinktune/local"
)

// TestChildrenDieWithParent starts a cluster from a child test process, kills that process
// with SIGKILL (as when go test is killed) and checks that every JVM dies and every port is
// free again: the JVMs carry a parent-death signal.
func TestChildrenDieWithParent(t *testing.T) {
	if os.Getenv("FLINKTUNE_HELPER_DIR") != "" {
		t.Skip("helper mode")
	}
	dists, err := local.DistsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCluster$", "-test.v")
	cmd.Env = append(os.Environ(), "FLINKTUNE_HELPER_DIR="+dir, "FLINKTUNE_HELPER_DIST="+dists[0].Dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "CLUSTER-READY") {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			t.Fatal("helper exited before its cluster was ready")
		}
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("helper cluster not ready after 3 minutes")
	}
	st, err := local.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for _, p := range st.Processes {
		for p.Alive() && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if p.Alive() {
			t.Errorf("%s (pid %d) survived its parent's SIGKILL", p.ID, p.PID)
			_ = syscall.Kill(-p.PID, syscall.SIGKILL)
		}
	}
	if _, err := local.Down(dir, time.Second); err != nil {
		t.Error(err)
	}
	t.Logf("%d JVMs died with their parent; ports %v free", len(st.Processes), st.Ports)
}

// TestHelperCluster is the child of TestChildrenDieWithParent: it starts a cluster and waits
// to be killed.
func TestHelperCluster(t *testing.T) {
	dir := os.Getenv("FLINKTUNE_HELPER_DIR")
	if dir == "" {
		t.Skip("only run as the child of TestChildrenDieWithParent")
	}
	d, err := local.LoadDist(os.Getenv("FLINKTUNE_HELPER_DIST"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, err := local.Start(ctx, local.Spec{Dist: d, Dir: dir, TaskManagers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	os.Stdout.WriteString("CLUSTER-READY\n")
	<-ctx.Done()
}
