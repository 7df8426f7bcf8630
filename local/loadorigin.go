package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LoadOnSignal makes the sources of spec (its ScheduledSource vertices, and the Kafka
// producer of StartKafkaLoad) wait for StartLoad before their schedule starts: until then only
// the start backlog has arrived. A schedule counted from the submission loses to the client JVM
// and the deployment whatever they take: on a loaded machine 80-133 s of a 170 s schedule
// (2.2.1, stop 25), so the policy never saw the ×1 level or most of the ×3 step. The origin
// file is created in dir, which the cluster's processes read (a local cluster's directory).
func (s *JobSpec) LoadOnSignal(dir string, now time.Time) {
	s.OriginFile = filepath.Join(dir, "origin-"+strconv.FormatInt(now.UnixNano(), 36))
}

// StartLoad sets the load's origin of a LoadOnSignal spec to at and returns the origin in
// force: the first one written, since a schedule's origin never moves (the sources of a
// restarted job read the same file). The file is written whole and renamed into place, so a
// source never reads part of the number. OriginMs is set to the origin.
func (s *JobSpec) StartLoad(at time.Time) (time.Time, error) {
	if s.OriginFile == "" {
		return time.Time{}, errors.New("start load: the spec's origin is fixed (no LoadOnSignal)")
	}
	if ms, err := readOrigin(s.OriginFile); err == nil {
		s.OriginMs = ms
		return time.UnixMilli(ms), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return time.Time{}, err
	}
	tmp := s.OriginFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(at.UnixMilli(), 10)+"\n"), 0o644); err != nil {
		return time.Time{}, err
	}
	if err := os.Rename(tmp, s.OriginFile); err != nil {
		return time.Time{}, err
	}
	s.OriginMs = at.UnixMilli()
	return time.UnixMilli(s.OriginMs), nil
}

// readOrigin reads an origin file as Schedule#origin does: epoch milliseconds, white space
// around it ignored.
func readOrigin(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("origin file %s: %w", path, err)
	}
	return ms, nil
}

// loadOriginLine starts the line the harness's KafkaLoad prints once its schedule runs: the
// origin it read from the origin file, in epoch milliseconds.
const loadOriginLine = "load origin "

// WaitLoadOrigin waits up to within for the Kafka producer p (StartKafkaLoad) to announce the
// origin its schedule started at, and returns it. StartLoad only writes the origin file; the
// producer reads it on its next check, and only the origin it announces is the one its load
// phases count from (a test timing the phases from StartLoad's return would trust a file the
// producer might never have read).
func WaitLoadOrigin(ctx context.Context, p *Process, within time.Duration) (time.Time, error) {
	deadline := time.Now().Add(within)
	for {
		out, err := os.ReadFile(p.Out)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return time.Time{}, err
		}
		if at, ok, err := announcedOrigin(out); err != nil || ok {
			return at, err
		}
		if !p.Alive() {
			return time.Time{}, fmt.Errorf("%s exited before it announced its load origin; see %s", p.ID, p.Out)
		}
		if !time.Now().Before(deadline) {
			return time.Time{}, fmt.Errorf("%s did not announce its load origin within %s (its schedule has not started); see %s", p.ID, within, p.Out)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ConfirmLoadOrigin waits up to within for the Kafka producer p to announce its load origin
// and checks that it is want, the origin StartLoad wrote: only then does the load run its
// phases from want. A producer that read an older origin file (or none) is an error naming both.
func ConfirmLoadOrigin(ctx context.Context, p *Process, want time.Time, within time.Duration) error {
	got, err := WaitLoadOrigin(ctx, p, within)
	if err != nil {
		return err
	}
	if !got.Equal(want) {
		return fmt.Errorf("%s announced load origin %d, but the origin written is %d; see %s", p.ID, got.UnixMilli(), want.UnixMilli(), p.Out)
	}
	return nil
}

// announcedOrigin is the origin in a producer's output, ok false while no whole "load origin"
// line is there (a line read while it is written has no newline yet).
func announcedOrigin(out []byte) (at time.Time, ok bool, err error) {
	for _, l := range strings.SplitAfter(string(out), "\n") {
		rest, found := strings.CutPrefix(l, loadOriginLine)
		if !found || !strings.HasSuffix(rest, "\n") {
			continue
		}
		ms, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("producer output: %q: %w", strings.TrimSpace(l), err)
		}
		return time.UnixMilli(ms), true, nil
	}
	return time.Time{}, false, nil
}
