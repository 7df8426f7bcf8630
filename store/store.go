// Package store persists the control loop's state in an embedded database (bbolt, pure Go,
// one file in the data directory): each job's policy state (metric windows, scaling
// history, pending scale-downs), rescale intents, a decision history and events.
//
// Every cycle is committed in one transaction, and a rescale is recorded as an intent
// BEFORE it is sent to Flink and marked applied after: a controller killed at any point
// restarts with no lost history and re-sends at most the same, idempotent requirements,
// never a second, different rescale.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout version this code reads and writes.
const SchemaVersion = 1

// FileName is the database file inside the data directory.
const FileName = "flinktune.db"

var (
	bucketMeta   = []byte("meta")
	bucketJobs   = []byte("jobs")
	bucketEvents = []byte("events")
	bucketDedupe = []byte("dedupe")

	keySchema  = []byte("schema")
	keyInfo    = []byte("info")
	keyState   = []byte("state")
	keyIntent  = []byte("intent")
	keyHistory = []byte("history")
)

// ErrLocked is returned when another process holds the data directory.
var ErrLocked = errors.New("the data directory is in use by another flinktune process")

// Store is an open data directory. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string

	committing atomic.Int32 // CommitCycle calls in progress
}

// Options tune Open.
type Options struct {
	// NoSync skips fsync on commit: for throwaway stores (benchmarks) only, a crash of the
	// machine (not of the process) may then lose recent cycles.
	NoSync bool
}

// Open opens (creating if needed) the store in dir.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// OpenWith opens the store in dir with options.
func OpenWith(dir string, o Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoSync: o.NoSync, NoFreelistSync: o.NoSync})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keySchema); v != nil {
			got, err := strconv.Atoi(string(v))
			if err != nil {
				return fmt.Errorf("%s: unreadable schema version %q", s.path, v)
			}
			if got > SchemaVersion {
				return fmt.Errorf("%s: written by a newer flinktune (schema %d, this one reads %d)", s.path, got, SchemaVersion)
			}
			// Older schemas would be migrated here; version 1 is the first.
		}
		if err := meta.Put(keySchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
			return err
		}
		for _, b := range [][]byte{bucketJobs, bucketEvents, bucketDedupe} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// JobKey identifies a job across clusters.
type JobKey struct {
	Cluster string `json:"cluster"`
	JobID   string `json:"jobId"`
}

func (k JobKey) String() string { return k.Cluster + "|" + k.JobID }

func (k JobKey) bytes() []byte { return []byte(k.String()) }

// JobInfo describes a job the controller has seen.
type JobInfo struct {
	Key       JobKey    `json:"key"`
	Name      string    `json:"name,omitempty"`
	Policy    string    `json:"policy,omitempty"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
}

// Intent is a rescale the controller decided and is about to apply, or has applied.
type Intent struct {
	ID          uint64            `json:"id"`
	Time        time.Time         `json:"time"`
	Parallelism map[string]int    `json:"parallelism"`
	Config      map[string]string `json:"config,omitempty"`
	Applied     bool              `json:"applied"`
	AppliedAt   time.Time         `json:"appliedAt,omitempty"`
}

// HistoryEntry is one decision in a job's scaling history.
type HistoryEntry struct {
	Time   time.Time      `json:"time"`
	Policy string         `json:"policy"`
	From   map[string]int `json:"from"`
	To     map[string]int `json:"to"`
	Reason string         `json:"reason,omitempty"`
	DryRun bool           `json:"dryRun,omitempty"`
}

// Event is a policy event with the cluster it happened on.
type Event struct {
	autoscaler.Event
	Cluster string `json:"cluster,omitempty"`
}

// JobState is everything stored for one job.
type JobState struct {
	Info        JobInfo
	PolicyState []byte
	Intent      *Intent
}

// Job returns the stored state of a job; ok is false if nothing is stored.
func (s *Store) Job(key JobKey) (st JobState, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs).Bucket(key.bytes())
		if b == nil {
			return nil
		}
		ok = true
		if v := b.Get(keyInfo); v != nil {
			if err := json.Unmarshal(v, &st.Info); err != nil {
				return fmt.Errorf("job %s info: %w", key, err)
			}
		}
		if v := b.Get(keyState); v != nil {
			st.PolicyState = append([]byte(nil), v...)
		}
		if v := b.Get(keyIntent); v != nil {
			st.Intent = new(Intent)
			if err := json.Unmarshal(v, st.Intent); err != nil {
				return fmt.Errorf("job %s intent: %w", key, err)
			}
		}
		return nil
	})
	return st, ok, err
}

// Jobs lists every job stored.
func (s *Store) Jobs() ([]JobInfo, error) {
	var out []JobInfo
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJobs).ForEachBucket(func(k []byte) error {
			b := tx.Bucket(bucketJobs).Bucket(k)
			var info JobInfo
			if v := b.Get(keyInfo); v != nil {
				if err := json.Unmarshal(v, &info); err != nil {
					return err
				}
			}
			out = append(out, info)
			return nil
		})
	})
	return out, err
}

// Cycle is what one control-loop cycle writes for one job, atomically.
type Cycle struct {
	Info        JobInfo
	PolicyState []byte
	// Intent, when set, replaces the job's current intent (a new rescale to apply).
	Intent  *Intent
	History []HistoryEntry
	Events  []Event
	// DedupeWindow drops events whose Key repeats within this window (0: keep all).
	DedupeWindow time.Duration
}

// CommitCycle writes a cycle in one transaction and returns the stored intent ID (0 if none).
// Concurrent commits (many jobs cycling at once) share one transaction and one fsync (bolt's
// Batch; each returns once its data is durable): one fsync per job cycle capped a 1000-job
// loop at about 100 cycles a second on a disk with 5 ms syncs. A commit without company
// goes alone, without Batch's wait for more.
func (s *Store) CommitCycle(c Cycle) (uint64, error) {
	update := s.db.Update
	if s.committing.Add(1) > 1 {
		update = s.db.Batch
	}
	defer s.committing.Add(-1)
	var intentID uint64
	err := update(func(tx *bolt.Tx) error {
		jobs := tx.Bucket(bucketJobs)
		b, err := jobs.CreateBucketIfNotExists(c.Info.Key.bytes())
		if err != nil {
			return err
		}
		info := c.Info
		if v := b.Get(keyInfo); v != nil {
			var old JobInfo
			if json.Unmarshal(v, &old) == nil {
				if !old.FirstSeen.IsZero() {
					info.FirstSeen = old.FirstSeen
				}
				if info.Name == "" {
					info.Name = old.Name
				}
				if info.Policy == "" {
					info.Policy = old.Policy
				}
			}
		}
		if err := putJSON(b, keyInfo, info); err != nil {
			return err
		}
		if c.PolicyState != nil {
			if err := b.Put(keyState, c.PolicyState); err != nil {
				return err
			}
		}
		if c.Intent != nil {
			id, err := b.NextSequence()
			if err != nil {
				return err
			}
			in := *c.Intent
			in.ID = id
			intentID = id
			if err := putJSON(b, keyIntent, in); err != nil {
				return err
			}
		}
		if len(c.History) > 0 {
			hb, err := b.CreateBucketIfNotExists(keyHistory)
			if err != nil {
				return err
			}
			for _, h := range c.History {
				seq, err := hb.NextSequence()
				if err != nil {
					return err
				}
				if err := putJSON(hb, timeKey(h.Time, seq), h); err != nil {
					return err
				}
			}
		}
		return appendEvents(tx, c.Info.Key, c.Events, c.DedupeWindow)
	})
	return intentID, err
}

func appendEvents(tx *bolt.Tx, key JobKey, events []Event, window time.Duration) error {
	eb := tx.Bucket(bucketEvents)
	db := tx.Bucket(bucketDedupe)
	for _, e := range events {
		if e.Key != "" && window > 0 {
			dk := []byte(key.String() + "|" + e.Key)
			if v := db.Get(dk); len(v) == 8 {
				last := time.Unix(0, int64(binary.BigEndian.Uint64(v)))
				if e.Time.Sub(last) < window {
					continue
				}
			}
			if err := db.Put(dk, be64(uint64(e.Time.UnixNano()))); err != nil {
				return err
			}
		}
		seq, err := eb.NextSequence()
		if err != nil {
			return err
		}
		if e.Cluster == "" {
			e.Cluster = key.Cluster
		}
		if e.JobID == "" {
			e.JobID = key.JobID
		}
		if err := putJSON(eb, timeKey(e.Time, seq), e); err != nil {
			return err
		}
	}
	return nil
}

// MarkApplied records that the intent with the given ID reached Flink.
func (s *Store) MarkApplied(key JobKey, intentID uint64, at time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs).Bucket(key.bytes())
		if b == nil {
			return fmt.Errorf("job %s: no stored state", key)
		}
		v := b.Get(keyIntent)
		if v == nil {
			return fmt.Errorf("job %s: no intent to mark applied", key)
		}
		var in Intent
		if err := json.Unmarshal(v, &in); err != nil {
			return err
		}
		if in.ID != intentID {
			return nil // superseded by a newer intent; nothing to mark
		}
		in.Applied, in.AppliedAt = true, at
		return putJSON(b, keyIntent, in)
	})
}

// History returns a job's decisions at or after since, oldest first.
func (s *Store) History(key JobKey, since time.Time) ([]HistoryEntry, error) {
	var out []HistoryEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs).Bucket(key.bytes())
		if b == nil || b.Bucket(keyHistory) == nil {
			return nil
		}
		c := b.Bucket(keyHistory).Cursor()
		for k, v := c.Seek(timeKey(since, 0)); k != nil; k, v = c.Next() {
			var h HistoryEntry
			if err := json.Unmarshal(v, &h); err != nil {
				return err
			}
			out = append(out, h)
		}
		return nil
	})
	return out, err
}

// EventQuery filters events.
type EventQuery struct {
	JobID string    // substring match on the job id; empty: all jobs
	Since time.Time // zero: from the beginning
	Limit int       // newest Limit events; 0: all
}

// Events returns matching events, oldest first.
func (s *Store) Events(q EventQuery) ([]Event, error) {
	var out []Event
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(timeKey(q.Since, 0)); k != nil; k, v = c.Next() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if q.JobID != "" && !containsFold(e.JobID, q.JobID) {
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[len(out)-q.Limit:]
	}
	return out, err
}

// Prune deletes events and history older than before, returning how many records went.
func (s *Store) Prune(before time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		del := func(b *bolt.Bucket) error {
			c := b.Cursor()
			end := timeKey(before, 0)
			for k, _ := c.First(); k != nil && string(k) < string(end); k, _ = c.Next() {
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
			return nil
		}
		if err := del(tx.Bucket(bucketEvents)); err != nil {
			return err
		}
		jobs := tx.Bucket(bucketJobs)
		return jobs.ForEachBucket(func(k []byte) error {
			if hb := jobs.Bucket(k).Bucket(keyHistory); hb != nil {
				return del(hb)
			}
			return nil
		})
	})
	return n, err
}

// timeKey orders records by time, then by sequence.
func timeKey(t time.Time, seq uint64) []byte {
	k := make([]byte, 16)
	ns := t.UnixNano()
	if t.IsZero() || ns < 0 {
		ns = 0
	}
	binary.BigEndian.PutUint64(k, uint64(ns))
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

func be64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
