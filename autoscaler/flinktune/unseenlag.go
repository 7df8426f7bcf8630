package flinktune

import (
	"math"
	"time"
)

// A source that reports no pendingRecords hides the backlog a restart leaves: the records that
// arrived while the job was down and those it replays from the last checkpoint. Catching up,
// it reads as fast as the job allows, and its read rate, taken for demand, shows every vertex
// at 100% utilization whatever its parallelism: each scale-up raised the rate read and called
// for the next (a job losing a TaskManager every 15 minutes went 78k → 122k → 157k/s for 52k/s
// of demand). So after a restart such a source is given the backlog the restart explains, at
// the demand it had before: reading above that demand pays the backlog off, not a new demand,
// until it is paid or catch-up.duration has passed (then the rate read is the evidence again).

// unseenLag is the backlog a restart left at a source without a lag metric.
type unseenLag struct {
	Level float64   `json:"level"` // demand before the restart, records/s
	Lag   float64   `json:"lag"`   // backlog at At, records
	At    time.Time `json:"at"`    // time of the last sample before the restart (or the loss)
	In0   float64   `json:"in0"`   // the source's records-read counter at At (0: a new run's)
	Since time.Time `json:"since"` // the restart (or the loss of the lag metric)
	// Left is the backlog at the newest sample accounted, LeftAt that sample's time.
	Left   float64   `json:"left"`
	LeftAt time.Time `json:"leftAt"`
}

// noteUnseenLag starts, at a restart, the accounting of each source's backlog from the demand
// its samples showed before the restart and the lag it last reported (a backlog not yet paid
// off carries over). It is kept for sources that report their lag too, and used if the lag
// metric goes missing before the backlog is paid.
func (p *Policy) noteUnseenLag(restart time.Time) {
	for id := range p.st.Sources {
		p.seedUnseen(id, restart, true)
	}
}

// seedUnseen starts the accounting of the source's backlog from its samples (since, the
// restart or the loss of its lag metric); restart adds the replay from the last checkpoint,
// and counts the reads of the new run from 0 (Flink's counters restart with the tasks).
func (p *Policy) seedUnseen(id string, since time.Time, restart bool) {
	level, last, lag, ok := levelBefore(p.st.Samples, id, p.o.FitSpan)
	prev := p.st.Unseen[id]
	u := &unseenLag{Level: level, Lag: lag, At: last, Since: since}
	switch {
	case ok && restart:
		if prev != nil && prev.LeftAt.Equal(last) {
			u.Lag += prev.Left // the backlog the run before did not pay off
		}
		u.Lag += level * p.replaySec()
	case ok && p.st.Base != nil && p.st.Base.T.Equal(last):
		u.In0 = p.st.Base.V[id].In
	case !ok && restart && prev != nil:
		// Restarted again before a sample: the backlog still stands, its reads were replayed.
		u.Level, u.Lag, u.At = prev.Level, prev.backlog(since, 0)+prev.Level*p.replaySec(), since
	default:
		return
	}
	if u.Level <= 0 {
		return
	}
	if p.st.Unseen == nil {
		p.st.Unseen = map[string]*unseenLag{}
	}
	p.st.Unseen[id] = u
}

// backlog is the records arrived at the level since At and not read by t (in: the counter).
func (u *unseenLag) backlog(t time.Time, in float64) float64 {
	return u.Lag + u.Level*t.Sub(u.At).Seconds() - math.Max(0, in-u.In0)
}

// levelBefore is the mean demand of the source over the newest span of samples, the time of
// the newest sample and the lag it showed.
func levelBefore(samples []sample, id string, span time.Duration) (level float64, last time.Time, lag float64, ok bool) {
	if len(samples) == 0 {
		return 0, time.Time{}, 0, false
	}
	newest := samples[len(samples)-1]
	n := 0
	for _, s := range samples {
		if v, found := s.V.get(id); found && newest.T.Sub(s.T) <= span {
			level += v.Ingest
			n++
		}
	}
	v, found := newest.V.get(id)
	if n == 0 || !found {
		return 0, time.Time{}, 0, false
	}
	return level / float64(n), newest.T, v.Lag, true
}

// unseenIngest is the source's demand over a sample ending at t that read at rate for dt
// seconds (in: its records-read counter at t): the level it had before while the backlog
// lasts, the rate read once it is paid off.
func (p *Policy) unseenIngest(id string, t time.Time, rate, dt, in float64) float64 {
	u := p.st.Unseen[id]
	if u == nil {
		return rate
	}
	if p.st.LagKnown[id] || t.Sub(u.Since) > p.o.CatchUp || !validUnseen(u, t) {
		delete(p.st.Unseen, id)
		return rate
	}
	now := u.backlog(t, in)
	before := now - (u.Level-rate)*dt
	u.Left, u.LeftAt = math.Max(now, 0), t
	if now <= 0 {
		delete(p.st.Unseen, id)
	}
	// Between the rate and the level by construction; the clamp keeps rounding (and absurd
	// saved values) from leaving that range.
	ingest := rate + (math.Max(now, 0)-math.Max(before, 0))/dt
	return min(max(ingest, min(rate, u.Level)), max(rate, u.Level))
}

// validUnseen rejects accounting a damaged or edited saved state could hold (a restart in the
// future would never expire).
func validUnseen(u *unseenLag, now time.Time) bool {
	return u.Level > 0 && u.Lag >= 0 && u.In0 >= 0 && u.Left >= 0 && !math.IsInf(u.Level+u.Lag+u.In0+u.Left, 0) &&
		!u.Since.After(now) && !u.At.After(now)
}
