package flinkrest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is a Flink release as /config reports it ("1.20.1", "2.0-SNAPSHOT").
type Version struct {
	Major, Minor, Patch int
	Raw                 string
}

// ErrUnknownVersion is wrapped by version errors for a flink-version that is not
// major.minor[.patch] (development builds report "<unknown>").
var ErrUnknownVersion = errors.New("unknown Flink version")

// ParseVersion parses "major.minor[.patch][-suffix]"; other text yields a Version holding
// only Raw and an error wrapping ErrUnknownVersion.
func ParseVersion(s string) (Version, error) {
	v := Version{Raw: s}
	core, _, _ := strings.Cut(strings.TrimSpace(s), "-")
	parts := strings.Split(core, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return v, fmt.Errorf("flink-version %q: want major.minor[.patch]: %w", s, ErrUnknownVersion)
	}
	nums := make([]int, 3)
	for i, part := range parts {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return v, fmt.Errorf("flink-version %q: want major.minor[.patch]: %w", s, ErrUnknownVersion)
		}
		nums[i] = n
	}
	v.Major, v.Minor, v.Patch = nums[0], nums[1], nums[2]
	return v, nil
}

func (v Version) String() string {
	if v.Raw != "" {
		return v.Raw
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// HasResourceRequirements: GET/PUT /jobs/{id}/resource-requirements (1.18+, adaptive
// scheduler only).
func (v Version) HasResourceRequirements() bool { return v.AtLeast(1, 18) }

// HasSlotSharingGroupID: vertices[].slotSharingGroupId in job details (1.19+).
func (v Version) HasSlotSharingGroupID() bool { return v.AtLeast(1, 19) }

// HoldsLowerBounds reports whether a slot sharing group needs the largest lower bound of its
// vertices (FLINK-33960, 1.19); 1.18 took the smallest, so lower bounds cannot hold a layout
// back until all of its slots are there.
func (v Version) HoldsLowerBounds() bool { return v.AtLeast(1, 19) }

// HasSkew: the skew aggregate and agg=skew (1.20+).
func (v Version) HasSkew() bool { return v.AtLeast(1, 20) }

// HasSubtaskHost: subtasks[].host in vertex details (removed in 2.0).
func (v Version) HasSubtaskHost() bool { return !v.AtLeast(2, 0) }

// HasMemorySegmentMetrics: metrics.memorySegmentsAvailable/Total in TaskManager details
// (removed in 2.0).
func (v Version) HasMemorySegmentMetrics() bool { return !v.AtLeast(2, 0) }

// Known reports whether the version was parsed (false for "<unknown>" builds).
func (v Version) Known() bool { return v.Major > 0 }

// FlinkVersion returns the cluster's Flink version from GET /config. An answer is cached
// for the client's lifetime; an unparsable flink-version is returned as a Version with only
// Raw set and an error wrapping ErrUnknownVersion (also cached).
func (c *Client) FlinkVersion(ctx context.Context) (Version, error) {
	c.mu.Lock()
	if c.version != nil {
		v, err := *c.version, c.versionErr
		c.mu.Unlock()
		return v, err
	}
	c.mu.Unlock()
	cfg, err := c.Config(ctx)
	if err != nil {
		return Version{}, err
	}
	v, err := ParseVersion(cfg.FlinkVersion)
	c.mu.Lock()
	c.version, c.versionErr = &v, err
	c.mu.Unlock()
	return v, err
}

// The supported matrix: Flink 1.18 (the first with PUT /jobs/{id}/resource-requirements)
// through 2.x. TestedVersions ran against real clusters (the integration tier; 2.0.1 by
// its recorded REST fixtures).
const (
	MinMajor, MinMinor = 1, 18
	MaxMajor           = 2
)

// TestedVersions are the Flink releases flinktune was run against.
var TestedVersions = []string{"1.20.5", "2.0.1", "2.2.1"}

// ErrUnsupportedVersion is wrapped by CheckSupported's errors.
var ErrUnsupportedVersion = errors.New("unsupported Flink version")

// CheckSupported returns an error naming the version, the supported matrix and the fix when
// flinktune cannot drive v. An unparsed version (a development build) passes: features are
// probed then.
func (v Version) CheckSupported() error {
	if !v.Known() {
		return nil
	}
	tested := strings.Join(TestedVersions, ", ")
	switch {
	case !v.AtLeast(MinMajor, MinMinor):
		return fmt.Errorf("%w: Flink %s has no in-place rescaling API (PUT /jobs/<id>/resource-requirements arrived in 1.18); "+
			"flinktune drives Flink %d.%d to %d.x (tested: %s): upgrade the cluster to 1.18 or newer",
			ErrUnsupportedVersion, v, MinMajor, MinMinor, MaxMajor, tested)
	case v.Major > MaxMajor:
		return fmt.Errorf("%w: Flink %s is newer than this flinktune knows (%d.%d to %d.x, tested: %s): "+
			"its REST API is unchecked; use a flinktune release that lists %d.x",
			ErrUnsupportedVersion, v, MinMajor, MinMinor, MaxMajor, tested, v.Major)
	}
	return nil
}
