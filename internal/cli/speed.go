package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Speed bounds. --speed is the time-scale factor of scenarios/FORMAT.md: simulated seconds per
// wall second. Beyond maxSpeed a served simulator cannot keep up (a day per second of wall
// time already takes a full core for a small scenario) and nothing can watch it.
const (
	minSpeed = 0.01
	maxSpeed = 100000
)

// speedFlag is --speed: a factor in [minSpeed, maxSpeed], or "max" (as fast as the machine
// runs) where the command runs in lockstep and allows it.
type speedFlag struct {
	factor   float64 // 0 when max
	allowMax bool
}

func (s *speedFlag) String() string {
	if s.factor == 0 {
		return "max"
	}
	return strconv.FormatFloat(s.factor, 'g', -1, 64)
}

func (s *speedFlag) Type() string { return "factor" }

func (s *speedFlag) Set(v string) error {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "max") {
		if !s.allowMax {
			return fmt.Errorf("max is only for lockstep runs (flinktune demo); a served simulator follows the wall clock: give a factor in [%g, %g]", minSpeed, float64(maxSpeed))
		}
		s.factor = 0
		return nil
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(v, "x"), 64) // 60 or 60x
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < minSpeed || f > maxSpeed {
		hint := ""
		if err == nil && f == 0 && s.allowMax {
			hint = "; for as fast as possible, --speed max"
		}
		return fmt.Errorf("want simulated seconds per wall second between %g and %g%s", minSpeed, float64(maxSpeed), hint)
	}
	s.factor = f
	return nil
}
