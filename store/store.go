// Package store persists the control loop's state in an embedded database (bbolt, pure Go,
// one file in the data directory): each job's policy state (metric windows, scaling
// history, pending scale-downs), rescale intents, a decision history and events.
//
// Every cycle is committed in one transaction, and a rescale is recorded as an intent
// BEFORE it is sent to Flink; the applied record (intent resolved, history entry, event) is
// one transaction after Flink accepted it. A controller killed in between finds the intent
// pending on restart and resolves it from what Flink runs (see controller).
//
// A damaged file never takes the process down: the file is checked on open (meta pages,
// size, every page and key reachable) and refused with a recovery hint;
// every later access runs guarded (deadline, memory faults turned into errors), and a
// record that does not decode is skipped and counted, not fatal to the rest.
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
	db        *bolt.DB
	file      *os.File // bbolt's file, to release its lock when bbolt cannot close
	path      string
	opTimeout time.Duration

	broken   atomic.Pointer[DamagedError] // set after bbolt panicked or faulted: never touch db again
	stuck    atomic.Int32                 // operations past their deadline, still running
	inFlight atomic.Int32
	writeErr atomic.Pointer[error] // the last write's error; nil after a successful write
	skipped  atomic.Int64          // corrupt records skipped by reads

	committing atomic.Int32 // CommitCycle calls in progress
}

// Options tune Open.
type Options struct {
	// NoSync skips fsync on commit: for throwaway stores (benchmarks) only, a crash of the
	// machine (not of the process) may then lose recent cycles.
	NoSync bool
	// OpTimeout bounds how long a caller waits for one read or write. Default 10 s.
	OpTimeout time.Duration
	// OpenTimeout bounds opening, including the integrity check. Default 60 s.
	OpenTimeout time.Duration
}

// Open opens (creating if needed) the store in dir.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// OpenWith opens the store in dir with options. A damaged file is refused with a
// *DamagedError (errors.Is(err, ErrDamaged)) that names the recovery commands.
func OpenWith(dir string, o Options) (*Store, error) {
	if o.OpTimeout <= 0 {
		o.OpTimeout = 10 * time.Second
	}
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = 60 * time.Second
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	s := &Store{path: path, opTimeout: o.OpTimeout}
	err := runWithin(o.OpenTimeout, func() error {
		db, file, err := openChecked(path, &bolt.Options{Timeout: 2 * time.Second, NoSync: o.NoSync, NoFreelistSync: o.NoSync})
		if err != nil {
			return err
		}
		s.db, s.file = db, file
		return nil
	})
	if errors.Is(err, ErrStuck) {
		return nil, fmt.Errorf("opening %s %w (a hung disk, or a damaged file: try `flinktune store check --data-dir %s`)", path, err, dir)
	}
	if err != nil {
		return nil, err
	}
	if err := s.init(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openProtected is bolt.Open under protect. When bbolt panics half-way (a damaged freelist),
// the file it opened is closed here, which releases its lock.
func openProtected(path string, bo *bolt.Options) (*bolt.DB, *os.File, error) {
	var (
		db   *bolt.DB
		file *os.File
	)
	o := *bo
	o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	err := protect(path, func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &o)
		return err
	})
	if errors.Is(err, ErrDamaged) && file != nil {
		file.Close()
	}
	return db, file, err
}

// openChecked opens path with bbolt after checking that bbolt can read all of it.
func openChecked(path string, bo *bolt.Options) (*bolt.DB, *os.File, error) {
	if err := precheck(path); err != nil {
		return nil, nil, err
	}
	db, file, err := openProtected(path, bo)
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, nil, fmt.Errorf("%s: %w", path, ErrLocked)
	}
	if errors.Is(err, ErrDamaged) {
		return nil, nil, err
	}
	if err != nil {
		if errors.Is(err, bolt.ErrInvalid) || errors.Is(err, bolt.ErrChecksum) || errors.Is(err, bolt.ErrVersionMismatch) {
			return nil, nil, &DamagedError{Path: path, Detail: err.Error()}
		}
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = protect(path, func() error {
		return db.View(func(tx *bolt.Tx) error {
			_, err := walk(tx)
			return err
		})
	})
	if err != nil {
		var d *DamagedError
		if !errors.As(err, &d) {
			d = &DamagedError{Path: path, Detail: err.Error()}
		}
		// The panic happened in a read transaction, which bbolt rolls back on the way out,
		// so closing normally works; should it block on a lock all the same, the handle
		// is left (the file lock then goes with the process).
		runWithin(2*time.Second, func() error { return protect(path, db.Close) })
		file.Close() // in case Close did not get as far: this releases the file lock
		return nil, nil, d
	}
	return db, file, nil
}

func (s *Store) init() error {
	return s.guard(true, func(tx *bolt.Tx) error {
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

// Close closes the database. A damaged or stuck handle whose close blocks on bbolt's locks
// is left open; the file lock then goes with the process.
func (s *Store) Close() error {
	if err := s.unusable(); err != nil {
		// Try all the same, briefly: a panic in a read leaves no lock behind, and closing
		// releases the file lock for a repair by this same process.
		runWithin(2*time.Second, func() error { return protect(s.path, s.db.Close) })
		s.file.Close() // in case Close did not get as far: this releases the file lock
		return err
	}
	return runWithin(s.opTimeout, s.db.Close)
}

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

// Intent is a rescale the controller decided and is about to apply, or has applied. It
// carries what it was decided on, so that a controller restarted later can tell a decision
// Flink already took (the applied record was lost) from one that never reached Flink and
// is stale by now.
type Intent struct {
	ID   uint64    `json:"id"`
	Time time.Time `json:"time"` // the controller's clock when decided
	// SnapshotTime is the time of the metrics snapshot the decision was made on.
	SnapshotTime time.Time `json:"snapshotTime,omitempty"`
	// From is the parallelism that ran when it was decided.
	From        map[string]int    `json:"from,omitempty"`
	Parallelism map[string]int    `json:"parallelism"` // the target
	Config      map[string]string `json:"config,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	Applied     bool              `json:"applied"`
	AppliedAt   time.Time         `json:"appliedAt,omitempty"`
	Dropped     bool              `json:"dropped,omitempty"`
	DroppedAt   time.Time         `json:"droppedAt,omitempty"`
	// Note says how it was resolved when that was not the normal path (reconciled after a
	// restart, or why it was dropped).
	Note string `json:"note,omitempty"`
}

// Pending reports whether the intent is neither applied nor dropped.
func (in *Intent) Pending() bool { return in != nil && !in.Applied && !in.Dropped }

// History actions.
const (
	ActionDecided     = "decided"     // a rescale decided, about to be sent
	ActionRecommended = "recommended" // decided but not to be applied (dry run, scaling disabled)
	ActionApplied     = "applied"     // Flink accepted the new requirements
	ActionReconciled  = "reconciled"  // found applied in Flink after a restart, recorded then
	ActionDropped     = "dropped"     // never reached Flink and no longer backed by fresh metrics
)

// HistoryEntry is one decision in a job's scaling history.
type HistoryEntry struct {
	Time   time.Time      `json:"time"`
	Policy string         `json:"policy"`
	From   map[string]int `json:"from"`
	To     map[string]int `json:"to"`
	Reason string         `json:"reason,omitempty"`
	DryRun bool           `json:"dryRun,omitempty"`
	Action string         `json:"action,omitempty"`
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

// SkippedRecord is a record a read could not decode; it is left out of the result.
type SkippedRecord struct {
	Where string `json:"where"`
	Err   string `json:"error"`
}

// decode unmarshals a record, or notes it as skipped and returns false.
func (s *Store) decode(skipped *[]SkippedRecord, where string, v []byte, out any) bool {
	if err := json.Unmarshal(v, out); err != nil {
		s.skipped.Add(1)
		if skipped != nil {
			*skipped = append(*skipped, SkippedRecord{Where: where, Err: err.Error()})
		}
		return false
	}
	return true
}

// Job returns the stored state of a job; ok is false if nothing is stored. A record that
// does not decode is left out (and counted in Skipped).
func (s *Store) Job(key JobKey) (st JobState, ok bool, err error) {
	err = s.guard(false, func(tx *bolt.Tx) error {
		st, ok = JobState{}, false
		b := tx.Bucket(bucketJobs).Bucket(key.bytes())
		if b == nil {
			return nil
		}
		ok = true
		if v := b.Get(keyInfo); v != nil {
			s.decode(nil, "job "+key.String()+" info", v, &st.Info)
		}
		if v := b.Get(keyState); v != nil {
			st.PolicyState = append([]byte(nil), v...)
		}
		if v := b.Get(keyIntent); v != nil {
			in := new(Intent)
			if s.decode(nil, "job "+key.String()+" intent", v, in) {
				st.Intent = in
			}
		}
		return nil
	})
	return st, ok, err
}

// Jobs lists every job stored.
func (s *Store) Jobs() ([]JobInfo, error) {
	var out []JobInfo
	err := s.guard(false, func(tx *bolt.Tx) error {
		out = nil
		return tx.Bucket(bucketJobs).ForEachBucket(func(k []byte) error {
			b := tx.Bucket(bucketJobs).Bucket(k)
			var info JobInfo
			if v := b.Get(keyInfo); v != nil && !s.decode(nil, "job "+string(k)+" info", v, &info) {
				return nil
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
	// Resolve, when set, marks the job's intent with that ID applied or dropped (before
	// Intent below, so one cycle can drop a stale intent and record a new one).
	Resolve *Resolution
	// Intent, when set, replaces the job's current intent (a new rescale to apply).
	Intent  *Intent
	History []HistoryEntry
	Events  []Event
	// DedupeWindow drops events whose Key repeats within this window (0: keep all).
	DedupeWindow time.Duration
}

// Resolution closes an intent.
type Resolution struct {
	IntentID uint64
	Applied  bool // false: dropped
	At       time.Time
	Note     string
}

// CommitCycle writes a cycle in one transaction and returns the stored intent ID (0 if none).
// Concurrent commits (many jobs cycling at once) share one transaction and one fsync (bolt's
// Batch; each returns once its data is durable): one fsync per job cycle capped a 1000-job
// loop at about 100 cycles a second on a disk with 5 ms syncs. A commit without company
// goes alone, without Batch's wait for more.
func (s *Store) CommitCycle(c Cycle) (uint64, error) {
	batch := s.committing.Add(1) > 1
	defer s.committing.Add(-1)
	var intentID uint64
	err := s.guardTx(true, batch, func(tx *bolt.Tx) error {
		intentID = 0
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
		if c.Resolve != nil {
			if err := resolve(b, *c.Resolve); err != nil {
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

// resolve marks the stored intent applied or dropped; a superseded ID is left alone.
func resolve(b *bolt.Bucket, r Resolution) error {
	v := b.Get(keyIntent)
	if v == nil {
		return nil
	}
	var in Intent
	if err := json.Unmarshal(v, &in); err != nil || in.ID != r.IntentID {
		return nil // unreadable or superseded by a newer intent: nothing to mark
	}
	if r.Applied {
		in.Applied, in.AppliedAt = true, r.At
	} else {
		in.Dropped, in.DroppedAt = true, r.At
	}
	in.Note = r.Note
	return putJSON(b, keyIntent, in)
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
	return s.guard(true, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs).Bucket(key.bytes())
		if b == nil {
			return fmt.Errorf("job %s: no stored state", key)
		}
		if b.Get(keyIntent) == nil {
			return fmt.Errorf("job %s: no intent to mark applied", key)
		}
		return resolve(b, Resolution{IntentID: intentID, Applied: true, At: at})
	})
}

// History returns a job's decisions at or after since, oldest first. Entries that do not
// decode are skipped (see HistoryChecked).
func (s *Store) History(key JobKey, since time.Time) ([]HistoryEntry, error) {
	h, _, err := s.HistoryChecked(key, since)
	return h, err
}

// HistoryChecked is History with the records it had to skip.
func (s *Store) HistoryChecked(key JobKey, since time.Time) ([]HistoryEntry, []SkippedRecord, error) {
	var (
		out     []HistoryEntry
		skipped []SkippedRecord
	)
	err := s.guard(false, func(tx *bolt.Tx) error {
		out, skipped = nil, nil
		b := tx.Bucket(bucketJobs).Bucket(key.bytes())
		if b == nil || b.Bucket(keyHistory) == nil {
			return nil
		}
		c := b.Bucket(keyHistory).Cursor()
		for k, v := c.Seek(timeKey(since, 0)); k != nil; k, v = c.Next() {
			var h HistoryEntry
			if s.decode(&skipped, fmt.Sprintf("history %s %x", key, k), v, &h) {
				out = append(out, h)
			}
		}
		return nil
	})
	return out, skipped, err
}

// EventQuery filters events.
type EventQuery struct {
	JobID string    // substring match on the job id; empty: all jobs
	Since time.Time // zero: from the beginning
	Limit int       // newest Limit events; 0: all
}

// Events returns matching events, oldest first. Events that do not decode are skipped
// (see EventsChecked).
func (s *Store) Events(q EventQuery) ([]Event, error) {
	evs, _, err := s.EventsChecked(q)
	return evs, err
}

// EventsChecked is Events with the records it had to skip.
func (s *Store) EventsChecked(q EventQuery) ([]Event, []SkippedRecord, error) {
	var (
		out     []Event
		skipped []SkippedRecord
	)
	err := s.guard(false, func(tx *bolt.Tx) error {
		out, skipped = nil, nil
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(timeKey(q.Since, 0)); k != nil; k, v = c.Next() {
			var e Event
			if !s.decode(&skipped, fmt.Sprintf("event %x", k), v, &e) {
				continue
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
	return out, skipped, err
}

// Prune deletes events and history older than before, returning how many records went.
func (s *Store) Prune(before time.Time) (int, error) {
	return s.Retain(time.Time{}, Retention{before: before})
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
