package controller

import (
	"fmt"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/store"
)

// ReasonBadData is the event reason of a cycle skipped because Flink sent implausible data.
const ReasonBadData = "BadMetricData"

// recordBadData counts and records a cycle whose snapshot Flink's answers made implausible
// (collect.IsBadData): no decision was taken on it. The event names the value, so that the
// faulty metric reporter can be found; repeated ones are deduplicated like errors.
func (c *Controller) recordBadData(key store.JobKey, job JobRef, now time.Time, err error) {
	c.opts.Metrics.badDataSeen(key)
	c.log.Warn("implausible data from Flink, no decision taken", "cluster", key.Cluster, "job", key.JobID, "err", err)
	msg := fmt.Sprintf("implausible data from Flink, no decision taken this cycle: %v", err)
	if len(msg) > 2048 {
		msg = msg[:2048]
	}
	if serr := c.recordEvent(key, job, now, c.opts.EventDedupe, autoscaler.Event{Type: autoscaler.EventWarning,
		Reason: ReasonBadData, Message: msg, Key: "baddata:" + autoscaler.FirstLine(msg, 200)}); serr != nil {
		c.log.Error("cannot record bad-data event", "err", serr)
	}
}
