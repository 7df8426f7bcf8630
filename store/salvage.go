package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Dump is every record that could be read from a store, damaged or not.
type Dump struct {
	Path     string          `json:"path"`
	Jobs     []DumpJob       `json:"jobs"`
	Events   []Event         `json:"events"`
	Skipped  []SkippedRecord `json:"skipped,omitempty"`  // records that did not decode
	Problems []string        `json:"problems,omitempty"` // structural damage found
}

// DumpJob is one job's stored records.
type DumpJob struct {
	Info        JobInfo         `json:"info"`
	PolicyState json.RawMessage `json:"policyState,omitempty"`
	Intent      *Intent         `json:"intent,omitempty"`
	History     []HistoryEntry  `json:"history,omitempty"`
	intentSeq   uint64
	rawKey      []byte
}

// Report is what Check found.
type Report struct {
	Path     string          `json:"path"`
	Size     int64           `json:"size"`
	Healthy  bool            `json:"healthy"`
	Problems []string        `json:"problems,omitempty"`
	Jobs     int             `json:"jobs"`
	Events   int             `json:"events"`
	History  int             `json:"history"`
	Skipped  []SkippedRecord `json:"skipped,omitempty"`
}

// Check examines the store in dir without changing it: the checks Open runs, then every
// record decoded. It fails only when it cannot look (no store, or in use by flinktune run).
func Check(dir string, timeout time.Duration) (Report, error) {
	path := filepath.Join(dir, FileName)
	fi, err := os.Stat(path)
	if err != nil {
		return Report{}, fmt.Errorf("no store in %s: %w", dir, err)
	}
	rep := Report{Path: path, Size: fi.Size()}
	err = runWithin(timeout, func() error {
		db, _, err := openChecked(path, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
		if err == nil {
			db.Close()
		}
		return err
	})
	if errors.Is(err, ErrLocked) {
		return rep, err
	}
	if err != nil {
		var d *DamagedError
		if errors.As(err, &d) {
			rep.Problems = append(rep.Problems, d.Detail)
		} else {
			rep.Problems = append(rep.Problems, err.Error())
		}
	}
	d, err := Salvage(dir, timeout)
	if err != nil {
		return rep, err
	}
	rep.Problems = append(rep.Problems, d.Problems...)
	rep.Jobs, rep.Events, rep.Skipped = len(d.Jobs), len(d.Events), d.Skipped
	for _, j := range d.Jobs {
		rep.History += len(j.History)
	}
	rep.Healthy = len(rep.Problems) == 0 && len(rep.Skipped) == 0
	return rep, nil
}

// Salvage reads every record it can from the store in dir, read-only, whatever the damage:
// a part that faults or panics is noted in Problems and the walk goes on with the rest.
func Salvage(dir string, timeout time.Duration) (*Dump, error) {
	path := filepath.Join(dir, FileName)
	d := &Dump{Path: path, Jobs: []DumpJob{}, Events: []Event{}}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no store in %s: %w", dir, err)
	}
	var db *bolt.DB
	err := runWithin(timeout, func() error {
		var err error
		db, _, err = openProtected(path, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
		return err
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%s: %w", path, ErrLocked)
	}
	if err != nil {
		d.Problems = append(d.Problems, "cannot open: "+err.Error())
		return d, nil
	}
	// The handle is not closed: after a fault bbolt's locks may be held, and a read-only
	// handle holds nothing worth releasing before the process ends.
	part := func(what string, fn func(tx *bolt.Tx) error) error {
		err := runWithin(timeout, func() error {
			return protect(path, func() error { return db.View(fn) })
		})
		if err != nil {
			d.Problems = append(d.Problems, what+": "+err.Error())
		}
		return err
	}
	// Buckets whose pages could send bbolt into an endless loop (or recursion) are not
	// read through bbolt at all: a loop cannot be interrupted, it would spin and grow
	// until the process ends. Their events are still found by the page scan.
	bad := treeDamage(path)
	skip := func(what string, bucket ...string) bool {
		p, ok := hardDamage(bad, bucket...)
		if ok {
			d.Problems = append(d.Problems, fmt.Sprintf("%s: not read, its pages are damaged (%s)", what, p))
		}
		return ok
	}
	var jobKeys [][]byte
	if !skip("job list", string(bucketJobs)) {
		part("job list", func(tx *bolt.Tx) error {
			jobs := tx.Bucket(bucketJobs)
			if jobs == nil {
				return errors.New("no jobs bucket")
			}
			return jobs.ForEachBucket(func(k []byte) error {
				jobKeys = append(jobKeys, bytes.Clone(k))
				return nil
			})
		})
	}
	for _, k := range jobKeys {
		j := DumpJob{rawKey: k}
		what := "job " + string(k)
		if !skip(what, string(bucketJobs), string(k)) {
			history := !skip(what+" history", string(bucketJobs), string(k), string(keyHistory))
			part(what, func(tx *bolt.Tx) error { return salvageJob(d, tx.Bucket(bucketJobs).Bucket(k), &j, history) })
		}
		if j.Info.Key == (JobKey{}) {
			j.Info.Key = parseJobKey(string(k))
		}
		d.Jobs = append(d.Jobs, j)
	}
	seen := map[string]bool{}
	if !skip("events", string(bucketEvents)) {
		seen = salvageEvents(d, part)
	}
	if len(d.Problems) > 0 {
		scanEvents(path, d, seen)
	}
	return d, nil
}

// scanEvents is the last resort when the tree is damaged (a truncated file loses the
// newest pages, where copy-on-write put the roots): it reads every leaf page of the file
// directly and keeps the records that decode as events. Events are never modified, so an
// old copy of a page holds the same records.
func scanEvents(path string, d *Dump, seen map[string]bool) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return
	}
	m, err := readMeta(f, 0)
	if err != nil {
		if m, err = readMeta(f, int64(os.Getpagesize())); err != nil {
			m.pageSize = uint32(os.Getpagesize())
		}
	}
	ps := int64(m.pageSize)
	var found []keyedEvent
	hdr := make([]byte, pageHeader)
	for off := 2 * ps; off+ps <= fi.Size(); off += ps {
		if _, err := f.ReadAt(hdr, off); err != nil {
			break
		}
		if binary.LittleEndian.Uint16(hdr[8:]) != 0x02 { // leaf
			continue
		}
		n := int64(binary.LittleEndian.Uint32(hdr[12:])) + 1
		if n > 1024 || off+n*ps > fi.Size() {
			continue
		}
		page := make([]byte, n*ps)
		if _, err := f.ReadAt(page, off); err != nil {
			continue
		}
		found = append(found, leafEvents(page)...)
		off += (n - 1) * ps
	}
	sort.Slice(found, func(a, b int) bool { return found[a].key < found[b].key })
	added := 0
	for _, e := range found {
		if !seen[e.key] {
			seen[e.key] = true
			d.Events = append(d.Events, e.ev)
			added++
		}
	}
	sort.SliceStable(d.Events, func(a, b int) bool { return d.Events[a].Time.Before(d.Events[b].Time) })
	if added > 0 {
		d.Problems = append(d.Problems, fmt.Sprintf("%d events recovered by scanning the file's pages", added))
	}
}

type keyedEvent struct {
	key string
	ev  Event
}

// leafEvents parses one leaf page (bbolt's layout: 16-byte header, then elements of flags,
// pos, key size, value size, each 4 bytes, pos relative to the element) with every bound
// checked, and returns the values that are events under time keys.
func leafEvents(page []byte) []keyedEvent {
	le := binary.LittleEndian
	count := int(le.Uint16(page[10:]))
	var out []keyedEvent
	for i := 0; i < count; i++ {
		at := pageHeader + i*16
		if at+16 > len(page) {
			break
		}
		flags, pos := le.Uint32(page[at:]), int(le.Uint32(page[at+4:]))
		ks, vs := int(le.Uint32(page[at+8:])), int(le.Uint32(page[at+12:]))
		start := at + pos
		if flags != 0 || ks != 16 || pos < 0 || ks < 0 || vs <= 0 || start+ks+vs > len(page) || start+ks+vs < start {
			continue
		}
		var e Event
		if json.Unmarshal(page[start+ks:start+ks+vs], &e) != nil || e.Reason == "" || e.Time.IsZero() {
			continue
		}
		out = append(out, keyedEvent{key: string(page[start : start+ks]), ev: e})
	}
	return out
}

func parseJobKey(s string) JobKey {
	if i := bytes.LastIndexByte([]byte(s), '|'); i >= 0 {
		return JobKey{Cluster: s[:i], JobID: s[i+1:]}
	}
	return JobKey{JobID: s}
}

// salvageJob reads a job's records, its history too when history is set.
func salvageJob(d *Dump, b *bolt.Bucket, j *DumpJob, history bool) error {
	if b == nil {
		return errors.New("not a bucket")
	}
	name := string(j.rawKey)
	skip := func(what string, err error) {
		d.Skipped = append(d.Skipped, SkippedRecord{Where: "job " + name + " " + what, Err: err.Error()})
	}
	j.intentSeq = b.Sequence()
	if v := b.Get(keyInfo); v != nil {
		if err := json.Unmarshal(v, &j.Info); err != nil {
			skip("info", err)
		}
	}
	if v := b.Get(keyState); v != nil {
		if json.Valid(v) {
			j.PolicyState = bytes.Clone(v)
		} else {
			skip("policy state", errors.New("not valid JSON"))
		}
	}
	if v := b.Get(keyIntent); v != nil {
		in := new(Intent)
		if err := json.Unmarshal(v, in); err != nil {
			skip("intent", err)
		} else {
			j.Intent = in
		}
	}
	hb := b.Bucket(keyHistory)
	if hb == nil || !history {
		return nil
	}
	c := hb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var h HistoryEntry
		if err := json.Unmarshal(v, &h); err != nil {
			skip(fmt.Sprintf("history %x", k), err)
			continue
		}
		j.History = append(j.History, h)
	}
	return nil
}

// salvageEvents reads the time-ordered events; after a damaged page it seeks ahead in
// growing steps, so that one bad page costs the events on it, not all later ones.
func salvageEvents(d *Dump, part func(string, func(*bolt.Tx) error) error) map[string]bool {
	seen := map[string]bool{}
	var last []byte
	for step, attempts := time.Second, 0; attempts < 40; attempts++ {
		from := []byte(nil)
		if last != nil {
			t := time.Unix(0, int64(beUint64(last)))
			from = timeKey(t.Add(step), 0)
			step *= 2
		}
		before := len(d.Problems)
		err := part("events", func(tx *bolt.Tx) error {
			eb := tx.Bucket(bucketEvents)
			if eb == nil {
				return errors.New("no events bucket")
			}
			c := eb.Cursor()
			k, v := c.First()
			if from != nil {
				k, v = c.Seek(from)
			}
			for ; k != nil; k, v = c.Next() {
				if last != nil && bytes.Compare(k, last) <= 0 {
					continue
				}
				last = bytes.Clone(k)
				seen[string(k)] = true
				var e Event
				if err := json.Unmarshal(v, &e); err != nil {
					d.Skipped = append(d.Skipped, SkippedRecord{Where: fmt.Sprintf("event %x", k), Err: err.Error()})
					continue
				}
				d.Events = append(d.Events, e)
			}
			return nil
		})
		if err == nil || errors.Is(err, ErrStuck) || last == nil {
			return seen
		}
		if len(d.Problems) > before+1 {
			d.Problems = d.Problems[:before+1] // one report per damaged stretch is enough
		}
	}
	return seen
}

func beUint64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	var v uint64
	for _, c := range b[:8] {
		v = v<<8 | uint64(c)
	}
	return v
}

// RepairResult says what Repair did.
type RepairResult struct {
	Path     string   `json:"path"`
	Damaged  string   `json:"damagedCopy"` // where the damaged file was moved
	Jobs     int      `json:"jobs"`
	Events   int      `json:"events"`
	History  int      `json:"history"`
	Skipped  int      `json:"skipped"`
	Problems []string `json:"problems,omitempty"`
}

// Repair salvages every readable record of the store in dir into a new store that replaces
// it; the damaged file is kept next to it as flinktune.db.damaged-<time>.
func Repair(dir string, now time.Time, timeout time.Duration) (RepairResult, error) {
	d, err := Salvage(dir, timeout)
	if err != nil {
		return RepairResult{}, err
	}
	path := filepath.Join(dir, FileName)
	res := RepairResult{Path: path, Jobs: len(d.Jobs), Events: len(d.Events), Skipped: len(d.Skipped), Problems: d.Problems}
	tmpDir, err := os.MkdirTemp(dir, "repair-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmpDir)
	fresh, err := OpenWith(tmpDir, Options{OpTimeout: timeout})
	if err != nil {
		return res, err
	}
	if err := fresh.load(d); err != nil {
		fresh.Close()
		return res, fmt.Errorf("writing the repaired store: %w", err)
	}
	if err := fresh.Close(); err != nil {
		return res, err
	}
	for _, j := range d.Jobs {
		res.History += len(j.History)
	}
	res.Damaged = path + ".damaged-" + now.UTC().Format("20060102T150405Z")
	if err := os.Rename(path, res.Damaged); err != nil {
		return res, err
	}
	if err := os.Rename(filepath.Join(tmpDir, FileName), path); err != nil {
		return res, fmt.Errorf("%w (the damaged file is at %s)", err, res.Damaged)
	}
	return res, nil
}

// load writes a dump into an empty store, keeping keys and sequences so that intent IDs
// and record order carry over.
func (s *Store) load(d *Dump) error {
	return s.guard(true, func(tx *bolt.Tx) error {
		jobs := tx.Bucket(bucketJobs)
		for _, j := range d.Jobs {
			b, err := jobs.CreateBucketIfNotExists(j.Info.Key.bytes())
			if err != nil {
				return err
			}
			if err := putJSON(b, keyInfo, j.Info); err != nil {
				return err
			}
			if j.PolicyState != nil {
				if err := b.Put(keyState, j.PolicyState); err != nil {
					return err
				}
			}
			seq := j.intentSeq
			if j.Intent != nil {
				seq = max(seq, j.Intent.ID)
				if err := putJSON(b, keyIntent, j.Intent); err != nil {
					return err
				}
			}
			if err := b.SetSequence(seq); err != nil {
				return err
			}
			if len(j.History) == 0 {
				continue
			}
			hb, err := b.CreateBucket(keyHistory)
			if err != nil {
				return err
			}
			sort.SliceStable(j.History, func(a, b int) bool { return j.History[a].Time.Before(j.History[b].Time) })
			for _, h := range j.History {
				seq, _ := hb.NextSequence()
				if err := putJSON(hb, timeKey(h.Time, seq), h); err != nil {
					return err
				}
			}
		}
		eb := tx.Bucket(bucketEvents)
		for _, e := range d.Events {
			seq, _ := eb.NextSequence()
			if err := putJSON(eb, timeKey(e.Time, seq), e); err != nil {
				return err
			}
		}
		return nil
	})
}
