package store

import (
	"bytes"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Retention bounds what the store keeps of events and scaling history. Zero fields keep
// everything. Job state and intents are never pruned: they are what a restart needs.
type Retention struct {
	// MaxAge drops events and history entries older than this.
	MaxAge time.Duration
	// MaxEvents keeps the newest events (all jobs together).
	MaxEvents int
	// MaxHistory keeps the newest history entries of each job.
	MaxHistory int

	before time.Time // an absolute cut (Prune)
}

// Enabled reports whether r prunes anything.
func (r Retention) Enabled() bool {
	return r.MaxAge > 0 || r.MaxEvents > 0 || r.MaxHistory > 0 || !r.before.IsZero()
}

// pruneBatch bounds one transaction, so that pruning a large backlog never holds the write
// lock (and the control loop's commits) for long.
const pruneBatch = 5000

// Retain deletes what r does not keep, as of now, and returns how many records went.
func (s *Store) Retain(now time.Time, r Retention) (int, error) {
	if !r.Enabled() {
		return 0, nil
	}
	cut := r.before
	if r.MaxAge > 0 && now.Add(-r.MaxAge).After(cut) {
		cut = now.Add(-r.MaxAge)
	}
	total := 0
	for {
		n, full := 0, false
		err := s.guard(true, func(tx *bolt.Tx) error {
			n, full = 0, false
			budget := pruneBatch
			del := func(b *bolt.Bucket, keep int) error {
				keys := victims(b, cut, keep, budget)
				for _, k := range keys {
					if err := b.Delete(k); err != nil {
						return err
					}
				}
				n += len(keys)
				budget -= len(keys)
				return nil
			}
			if err := del(tx.Bucket(bucketEvents), r.MaxEvents); err != nil {
				return err
			}
			jobs := tx.Bucket(bucketJobs)
			err := jobs.ForEachBucket(func(k []byte) error {
				if hb := jobs.Bucket(k).Bucket(keyHistory); hb != nil && budget > 0 {
					return del(hb, r.MaxHistory)
				}
				return nil
			})
			full = budget <= 0
			if err != nil || cut.IsZero() || full {
				return err
			}
			// Deduplication marks older than the cut can no longer suppress anything kept.
			var stale [][]byte
			dd := tx.Bucket(bucketDedupe)
			c := dd.Cursor()
			for k, v := c.First(); k != nil && len(stale) < budget; k, v = c.Next() {
				if len(v) == 8 && time.Unix(0, int64(binary.BigEndian.Uint64(v))).Before(cut) {
					stale = append(stale, bytes.Clone(k))
				}
			}
			for _, k := range stale {
				if err := dd.Delete(k); err != nil {
					return err
				}
			}
			// Not counted: they are bookkeeping, not records anyone reads.
			full = len(stale) == budget
			return nil
		})
		total += n
		if err != nil || !full {
			return total, err
		}
	}
}

// victims lists up to limit keys of a time-keyed bucket that fall before cut or outside
// the newest keep records, oldest first.
func victims(b *bolt.Bucket, cut time.Time, keep, limit int) [][]byte {
	if limit <= 0 {
		return nil
	}
	c := b.Cursor()
	var boundary []byte // keys before it go
	if !cut.IsZero() {
		boundary = timeKey(cut, 0)
	}
	if keep > 0 {
		k, _ := c.Last()
		for i := 1; i < keep && k != nil; i++ {
			k, _ = c.Prev()
		}
		if k != nil && (boundary == nil || bytes.Compare(k, boundary) > 0) {
			boundary = bytes.Clone(k)
		}
	}
	if boundary == nil {
		return nil
	}
	var out [][]byte
	for k, _ := c.First(); k != nil && bytes.Compare(k, boundary) < 0 && len(out) < limit; k, _ = c.Next() {
		out = append(out, bytes.Clone(k))
	}
	return out
}
