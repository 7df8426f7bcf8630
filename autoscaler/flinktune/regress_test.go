package flinktune_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/flinktune/flinktune/bench"
	"github.com/flinktune/flinktune/scenario"
)

// regressions are the failure classes found on workloads the policy was not tuned on
// (issue 9), each as a scenario in testdata/regress (the file says what went wrong). Every
// run must conserve records, never oscillate and take at most two steps per load change;
// besides, each bounds the rescales, the seconds above the lag objective and, where the
// failure was over-provisioning, the parallelism-seconds.
var regressions = []struct {
	file               string
	minRescales        int
	maxRescales        int
	maxLagViolationSec float64
	maxParSec          float64 // 0: no bound
}{
	{"low-selectivity-window.yaml", 1, 2, 600, 0},
	// 861 s when the scale-down ignored its own restart cost, 1334 s once the simulator's 1.20
	// rescale replays since the last checkpoint; 0 s since a scale-down whose restart lag cannot
	// drain within catch-up.duration is held (restartcost.go); 675 s with hot vertices brought
	// along into a scale-down: the bound keeps the 1334 s out.
	{"slow-restart-scale-down.yaml", 0, 2, 700, 0},
	{"union-lagging-branch.yaml", 1, 2, 200, 0},
	{"source-beyond-partitions.yaml", 1, 2, 60, 120000},
	{"idle-subtasks-shared-slots.yaml", 1, 2, 60, 300000},
	// 712 s when the scale-up on the rise counted only the downtime backlog, 392 s counting the
	// replay; 0 s and no rescale at all once an ended ramp is no longer extended (the rise
	// never needed one).
	{"restart-replay-scale-up.yaml", 0, 2, 500, 0},
	{"hot-vertex-scale-down.yaml", 1, 2, 700, 0},
	{"scale-down-before-step.yaml", 1, 2, 800, 0},
	{"backlog-drain-surplus.yaml", 1, 2, 800, 460000},
	// 4 rescales, 1 oscillation, 1532 s and 228,146 parallelism-seconds when a flat level
	// was scaled down after scale-down.interval; 2, 0, 1104 s and 170,317 waiting settle.
	{"scale-down-at-ramp-start.yaml", 1, 2, 1300, 200000},
	// 187,387 parallelism-seconds while a failure's restart counted as a rescale's downtime;
	// 75,000 since (the operator: 104,640).
	{"failure-restart-after-scale-down.yaml", 1, 2, 600, 110000},
	// 944,189 parallelism-seconds when a trend was extrapolated beyond settle.
	{"late-ramp-overshoot.yaml", 1, 2, 600, 900000},
	// 582,262 when the drain was sized on top of the demand at the forecast horizon.
	{"ramp-drain-at-horizon.yaml", 1, 3, 900, 570000},
	// 140,110 parallelism-seconds while the wait after a spike began once the spike had left
	// scale-down.interval's span; 126,880 counting it from the spike's end.
	{"spike-return-to-level.yaml", 1, 2, 300, 133000},
	// 6 rescales, 4,217 s and 717,501 parallelism-seconds while scale-ups went past the slots the
	// cluster has; 1, 2,940 s and 570,804 within the learned slot ceiling.
	{"multi-slot-ceiling-backlog.yaml", 1, 2, 3100, 600000},
	// 164,667 parallelism-seconds when the filter was sized to drain a backlog faster than its
	// source's partitions and a capped window let it; 145,287 since.
	{"multi-drain-bound-backlog.yaml", 1, 2, 1900, 152000},
	// 150,200 parallelism-seconds while the window and the sink behind a filter that passed
	// nothing were held at 8 subtasks each (no input, so no measured capacity); 97,000 since.
	{"unfed-vertices.yaml", 1, 1, 60, 110000},
	// 95 s while a scale-up within settle of a scale-down waited for the lag to cross lag.max
	// although it could not drain; 52 s acting when it would cross it before a rescale helps.
	{"lag-step-within-settle.yaml", 1, 2, 70, 0},
	// 276,560 parallelism-seconds while the scale-up kept the source's 16 subtasks (5 times its
	// need) and sized the FORWARD sink to 32, a multiple of them; 180,806 shedding the source
	// to 5 in the same restart (sink 25). Lag-violation 86 s then 233 s (the operator 1,782 s).
	{"fwd-forward-over-provisioned-source.yaml", 1, 1, 300, 200000},
	// 144,785 parallelism-seconds keeping the surplus of the vertices between utilization.min
	// and the midpoint to the target through the scale-up; 134,203 shedding it (same 228 s).
	{"fwd-halfway-surplus-in-scale-up.yaml", 1, 1, 300, 139000},
	// 4 rescales (4 steps), 1,516 s and 267,209 parallelism-seconds while a lagging join
	// source's read rate was taken for a share of the shared sink's capacity; 2, 947 s and
	// 225,660 blaming the vertex that processed the most of its capacity (the operator: 1,
	// 1,833 s, 250,507).
	{"join-shared-sink-restart.yaml", 1, 2, 1100, 240000},
	// 3 rescales (3 steps) and 42,934 parallelism-seconds while the lag trend was fitted
	// across the restore after each rescale; 2 and 32,978 fitting it from the lag's peak.
	{"join-backlog-state-restore.yaml", 1, 2, 1400, 36000},
	// 442,514 parallelism-seconds while the scale-up for a backlog kept the idle vertices for a
	// second rescale to shed (1,029 s); 293,333 shedding them in the scale-up's restart (1,150 s,
	// the operator 2,286 s and 537,404).
	{"spike-scaleup-sheds-idle.yaml", 1, 2, 1400, 320000},
	// 374,042 parallelism-seconds while the scale-down after the spike sized its restart's
	// backlog at the target utilization; 365,162 draining it at catch-up utilization; 317,802
	// since the return to the level takes the two sinks the spike raised (18 -> 11, 23 -> 14;
	// they were kept at 44% because the restart's drain at the target lifted them above the
	// midpoint, levelreturn.go). The operator: 277,062.
	{"spike-down-restart-drain.yaml", 1, 2, 900, 330000},
	// 2 rescales, 1 oscillation (the source raised in a scale-down during a spike, lowered
	// 21 minutes later), 34 s and 72,850 parallelism-seconds; 1, 0 s and 75,200 holding the
	// scale-down until the spike is over.
	{"excursion-scale-down-raise.yaml", 1, 1, 60, 80000},
	// 3 rescales, 1 oscillation and 684 s (249,924 parallelism-seconds over these 100 minutes)
	// while a step down long after a drain-sized scale-up was shed as its surplus; 1, 0 and
	// 354 s (256,097: the dip's surplus is held) once only a demand at the drain's level is
	// (the operator: 1, 1,752 s, 267,858).
	{"steps-drain-surplus-after-fall.yaml", 1, 1, 450, 0},
	// 0 rescales and 4,320 s while the capacity of a scale-up was counted with a pointwise
	// input at its current parallelism (the raised vertex read as slower than now); 1 and
	// 1,752 s counting it at its target (the operator: 1, 1,422 s).
	{"pointwise-lag-after-failure.yaml", 1, 1, 2100, 0},
	// 327,850 parallelism-seconds while a spike the drained layout carried restarted the wait
	// of the drain's surplus (64 subtasks kept to 57 min); 287,950 pausing it (scale-down at
	// 41 min). The operator: 1 rescale, 2,889 s, 228,100.
	{"drain-surplus-past-spike.yaml", 1, 2, 1100, 300000},
	// 3 rescales, 1 oscillation, 123 s and 395,503 parallelism-seconds while the wait for a
	// flat or rising demand counted from the start of the low spell; 2, 0 and 69 s (461,245:
	// the over-provisioned start is held until the scale-up) counting it from the step up.
	// The operator: 1, 1,255 s, 576,295.
	{"step-up-within-low-spell.yaml", 1, 2, 200, 0},
	// 77,057 parallelism-seconds (1 rescale) while a join left at 42% utilization by a scale-up
	// sized for a ramp's extrapolated trend could not start a scale-down (above
	// utilization.min); 69,627 (2 rescales, 0 s) once vertices halfway down on a level for
	// settle start one (halfway.go). The operator: 66,725, 2 rescales, 0 s.
	{"halfway-after-ramp-forecast.yaml", 1, 2, 60, 74000},
	// 206 s above the 300 s SLO while the scale-down restarted anywhere in a 5-minute checkpoint
	// cycle (480 s of lag at its peak); 0 s issued in the cycle that sees a checkpoint complete
	// (ckptalign.go), 500,390 parallelism-seconds against 497,610. The operator: 144 s, 899,280.
	{"scale-down-checkpoint-replay.yaml", 1, 1, 60, 510000},
	// 451 s above the 60 s SLO while the scale-up restarted wherever the lag objective fired in
	// the checkpoint cycle (about 92 s of input replayed); 306 s waiting 20 s for the next
	// checkpoint (about 54 s), 204,065 parallelism-seconds against 201,414. The operator: 194 s,
	// 309,717.
	{"scale-up-checkpoint-replay.yaml", 1, 1, 380, 210000},
	// 559 s above the 60 s SLO and 284,900 parallelism-seconds while a second target was sent
	// as the first one's TaskManagers came (two restarts); 446 s and 277,620 waiting while the
	// cluster's slots grow. The operator: 426 s, 416,220.
	{"slot-growth-second-target.yaml", 1, 1, 480, 281000},
	// 5 rescales (3 steps for the ramp), 3,524 s above the 60 s SLO and 308,958
	// parallelism-seconds while a rescale for the lag a scale-up's own restart left, 5 minutes
	// after it, was taken for any predicted gain over waiting; 3, 1,845 s and 240,094 asking
	// it to drain in under worthMargin of waiting's time within settle of a scale-up. The
	// operator: 1, 2,117 s, 212,198.
	{"skewed-window-repeated-scale-up.yaml", 1, 3, 2100, 260000},
	// 1 rescale, 112 s and 377,551 parallelism-seconds while a step out of an idle hour passed
	// for a steady ramp (its noise measured on the step alone) and was forecast at 5.2 times
	// the level; 0, 0 s and 205,200 counting idle samples as quiet (the operator: the same).
	{"idle-hour-step.yaml", 0, 1, 60, 210000},
	// 8 rescales (4 steps per load change) and 1,409,134 parallelism-seconds while a lag that
	// grew under a load beyond every reachable layout called for a scale-up each time it was
	// projected past lag.max, gaining nothing through the capped bottleneck; 1 and 1,240,111
	// once the restart must leave less lag than waiting. The run is above the objective
	// throughout whatever is done (the operator: 2 rescales, 1,306,099).
	{"overload-capped-window.yaml", 0, 2, 3600, 1300000},
	// 5 rescales (5 steps), 886 s and 103,127 parallelism-seconds while the catch-up after each
	// failure of a job whose source reports no lag was read as demand; 0, 626 s and 63,000
	// paying the restart's backlog off at the demand before it (the operator: the same).
	{"restart-catch-up-without-lag.yaml", 0, 0, 700, 66000},
	// 6 rescales (5 steps) and 147,158 parallelism-seconds while a scale-up's own catch-up was;
	// 3 (2 steps), 596 s and 92,661 since (the operator: 1, 1,250 s, 84,303).
	{"step-without-lag.yaml", 1, 3, 700, 100000},
	// 2 restarts for the one scale-up (a partial layout, then the rest 60 s later when the new
	// TaskManagers had started), 98 s down and 81 s above the 2-minute SLO; 1, 59 s and 15 s
	// holding the lower bounds at the target until every slot is there.
	{"partial-restart-scale-up.yaml", 1, 1, 40, 0},
	// 7 rescales (4 flapping reversals), 3,189 s and 261,811 parallelism-seconds after the
	// observed-rate cap blamed a session window its own busy time showed at 34% of capacity; 1,
	// 738 s and 139,320 sparing it (the operator: 1, 755 s, 161,640).
	{"join-catch-up-starves-branch.yaml", 1, 2, 900, 160000},
	// 4 rescales (4 steps), 1,887 s and 67,510 parallelism-seconds while a source whose lag
	// grew as the join drained the other's backlog was judged on its own; 1, 668 s and 53,710
	// judging the sources that share the join by their summed lag (the operator: 1, 645 s,
	// 65,109).
	{"join-backlogs-drain-together.yaml", 1, 2, 900, 60000},
	// 158,120 parallelism-seconds while the other source's spike counted as a fall, which
	// keeps a halfway scale-down off a level; 128,220 since (the operator: 103,110).
	{"spike-is-no-fall.yaml", 1, 2, 300, 140000},
	// 2,181 s (stuck) while a scale-down's raise took the job onto a second TaskManager; 1,284 s
	// holding a scale-down that needs more slots than the job holds (the operator: 1,878 s).
	{"scale-down-adds-slots.yaml", 1, 1, 1400, 0},
	// 3,192 s (stuck for hours over the whole run) while a run from an earlier rescale let a
	// target still waiting for its TaskManagers set the slot ceiling; 0 s since.
	{"slot-ceiling-pending-target.yaml", 1, 4, 300, 0},
}

// TestScaleUpRestartsOnce checks the hold of partial-restart-scale-up.yaml by its cause: with
// flinktune.rescale.slot-wait the scale-up's restart is the job's only one; without it, the
// same decision restarts the job twice.
func TestScaleUpRestartsOnce(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "regress", "partial-restart-scale-up.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Parse(data, "partial-restart-scale-up.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		set      []string
		restarts int
	}{{nil, 1}, {[]string{"flinktune.rescale.slot-wait=0"}, 2}} {
		r, err := bench.Run(context.Background(), sc, "flinktune", bench.Options{Set: tc.set})
		if err != nil {
			t.Fatal(err)
		}
		if r.Rescales != 1 || r.Restarts != tc.restarts {
			t.Errorf("set %v: %d rescales, %d restarts; want 1 rescale and %d restarts", tc.set, r.Rescales, r.Restarts, tc.restarts)
		}
	}
}

func TestRegressionScenarios(t *testing.T) {
	for _, tc := range regressions {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("testdata", "regress", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			sc, err := scenario.Parse(data, tc.file)
			if err != nil {
				t.Fatal(err)
			}
			r, err := bench.Run(context.Background(), sc, "flinktune", bench.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range regressionProblems(r, tc.minRescales, tc.maxRescales, tc.maxLagViolationSec) {
				t.Error(p)
			}
			if tc.maxParSec > 0 && r.ParallelismSeconds > tc.maxParSec {
				t.Errorf("%.0f parallelism-seconds, want at most %.0f", r.ParallelismSeconds, tc.maxParSec)
			}
		})
	}
}

func regressionProblems(r *bench.Result, minR, maxR int, maxViol float64) []string {
	var out []string
	if r.InputRecords != r.ProcessedRecords+r.FinalLagRecords {
		out = append(out, fmt.Sprintf("records not conserved: %d in, %d processed, %d lag", r.InputRecords, r.ProcessedRecords, r.FinalLagRecords))
	}
	if r.Oscillations != 0 {
		out = append(out, fmt.Sprintf("%d oscillations", r.Oscillations))
	}
	for _, c := range r.Convergence {
		if c.Steps > 2 {
			out = append(out, fmt.Sprintf("%d steps after the load change at %.0fs", c.Steps, c.At))
		}
	}
	if r.Rescales < minR || r.Rescales > maxR {
		out = append(out, fmt.Sprintf("%d rescales, want %d to %d", r.Rescales, minR, maxR))
	}
	if r.LagViolationSeconds > maxViol {
		out = append(out, fmt.Sprintf("%.0f s above the lag objective, want at most %.0f", r.LagViolationSeconds, maxViol))
	}
	return out
}
