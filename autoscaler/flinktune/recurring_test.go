package flinktune

import (
	"math"
	"strings"
	"testing"
	"time"
)

func dailyCurve(mean, amp float64) func(time.Duration) float64 {
	return func(el time.Duration) float64 { return mean * (1 + amp*math.Sin(2*math.Pi*el.Hours()/24)) }
}

func TestProfileRecognisesAndRejectsPatterns(t *testing.T) {
	fill := func(pr *profile, from, to time.Duration, rate func(time.Duration) float64) {
		for el := from; el < to; el += 10 * time.Second {
			pr.observe(t0.Add(el), rate(el))
		}
	}
	day := 24 * time.Hour
	pr := &profile{}
	fill(pr, 0, 20*time.Hour, dailyCurve(1000, 0.8))
	if _, ok := pr.recurring(t0.Add(20 * time.Hour)); ok {
		t.Fatal("a pattern after less than a day")
	}
	fill(pr, 20*time.Hour, day+3*time.Hour, dailyCurve(1000, 0.8))
	rec, ok := pr.recurring(t0.Add(day + 3*time.Hour))
	if !ok || rec.Period != day || math.Abs(rec.Factor-1) > 0.01 {
		t.Fatalf("daily pattern not recognised: %+v %v", rec, ok)
	}
	// Expected within an hour: the curve one day ago an hour ahead, as the slot means give it.
	want := dailyCurve(1000, 0.8)(4 * time.Hour)
	if got := rec.expected(time.Hour); math.Abs(got-want)/want > 0.02 {
		t.Errorf("expected %v, want about %v", got, want)
	}
	// A level 10% higher is the same pattern scaled.
	scaled := func(el time.Duration) float64 { return 1.1 * dailyCurve(1000, 0.8)(el) }
	pr2 := &profile{}
	fill(pr2, 0, day, dailyCurve(1000, 0.8))
	fill(pr2, day, day+3*time.Hour, scaled)
	if rec, ok := pr2.recurring(t0.Add(day + 3*time.Hour)); !ok || math.Abs(rec.Factor-1.1) > 0.01 {
		t.Errorf("scaled pattern: %+v %v", rec, ok)
	}
	// A broken pattern (the curve shifted by six hours, or a flat day) is not used.
	for name, today := range map[string]func(time.Duration) float64{
		"shifted": func(el time.Duration) float64 { return dailyCurve(1000, 0.8)(el + 6*time.Hour) },
		"flat":    constant(1000),
		"doubled": func(el time.Duration) float64 { return 2 * dailyCurve(1000, 0.8)(el) },
	} {
		pr := &profile{}
		fill(pr, 0, day, dailyCurve(1000, 0.8))
		fill(pr, day, day+3*time.Hour, today)
		if rec, ok := pr.recurring(t0.Add(day + 3*time.Hour)); ok {
			t.Errorf("%s: used a broken pattern %+v", name, rec)
		}
	}
}

func TestProfileRingForgetsOldSlots(t *testing.T) {
	pr := &profile{}
	pr.observe(t0, 5)
	if v, ok := pr.at(slotOf(t0)); !ok || v != 5 {
		t.Fatalf("at = %v %v", v, ok)
	}
	pr.observe(t0.Add(9*24*time.Hour), 7) // beyond the ring: the old slot is gone
	if _, ok := pr.at(slotOf(t0)); ok {
		t.Error("a slot older than the ring is still known")
	}
	if _, ok := pr.at(slotOf(t0.Add(8 * 24 * time.Hour))); ok {
		t.Error("a slot never observed is known")
	}
}

// dailyRun drives the toy job for two days and returns the seconds above 60 s of lag per day
// and the reasons of day 2's scale-ups.
func dailyRun(t *testing.T, rate func(time.Duration) float64) (lagSec [2]float64, reasons []string) {
	t.Helper()
	j := newToy(rate, &toyVertex{id: "src", p: 2, capacity: 30000, sel: 1},
		&toyVertex{id: "map", p: 3, capacity: 5000, sel: 1, maxP: 120, hash: true})
	j.restart = time.Minute
	p := New(DefaultOptions())
	for el := time.Duration(0); el < 48*time.Hour; el += time.Second {
		j.step()
		day := int(el / (24 * time.Hour))
		if in := j.rate(el); in > 0 && j.lag/in > 60 {
			lagSec[day]++
		}
		if j.now.Sub(t0)%(10*time.Second) != 0 {
			continue
		}
		d, err := p.Cycle(j.snapshot())
		if err != nil {
			t.Fatal(err)
		}
		before := total(j)
		if d.Scaled && j.down <= 0 && j.apply(d.Parallelism) {
			p.Applied(j.now, d.Parallelism)
			if total(j) > before && day == 1 {
				reasons = append(reasons, d.Reason)
			}
		}
	}
	return lagSec, reasons
}

// On the second day of a daily curve, the policy scales up ahead of the rise it saw the day
// before, with the restart time it learned: every scale-up of day 2 is the pattern's, and
// day 2 has at most half the lag of day 1.
func TestDailyPatternScalesAhead(t *testing.T) {
	lagSec, reasons := dailyRun(t, dailyCurve(12000, 0.8))
	if len(reasons) == 0 {
		t.Fatal("no scale-up on day 2")
	}
	for _, r := range reasons {
		if !strings.Contains(r, "daily pattern") {
			t.Errorf("day-2 scale-up not ahead of the rise: %s", r)
		}
	}
	if lagSec[1] > lagSec[0]/2 {
		t.Errorf("seconds above 60 s of lag: day 1 %.0f, day 2 %.0f", lagSec[0], lagSec[1])
	}
}

// When day 2 does not repeat day 1 (the curve turned upside down), the pattern is not used
// and the policy scales reactively.
func TestBrokenPatternFallsBackToReactive(t *testing.T) {
	curve := dailyCurve(12000, 0.8)
	_, reasons := dailyRun(t, func(el time.Duration) float64 {
		if el < 24*time.Hour {
			return curve(el)
		}
		return curve(el + 12*time.Hour)
	})
	if len(reasons) == 0 {
		t.Fatal("no scale-up on day 2")
	}
	for _, r := range reasons {
		if strings.Contains(r, "pattern") {
			t.Errorf("scaled on a broken pattern: %s", r)
		}
	}
}
