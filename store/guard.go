package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrDamaged marks a database file that cannot be used safely. Errors wrapping it are
// *DamagedError and say how to recover.
var ErrDamaged = errors.New("the store is damaged")

// ErrStuck is returned while an earlier operation on the database has not finished within
// its deadline (a hung disk, or a damaged file that sent bbolt into a loop).
var ErrStuck = errors.New("the store is not responding")

// DamagedError says what is wrong with a database file and how to recover from it.
type DamagedError struct {
	Path      string
	Detail    string
	fromPanic bool
}

func (e *DamagedError) Error() string {
	dir := filepath.Dir(e.Path)
	return fmt.Sprintf("%s is damaged (%s). Nothing was changed. `flinktune store check --data-dir %s` "+
		"lists what is wrong; `flinktune store repair --data-dir %s` copies every readable record into a new "+
		"store and keeps the damaged file next to it; `flinktune store export --data-dir %s` dumps the readable records as JSON",
		e.Path, e.Detail, dir, dir, dir)
}

func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

// guard runs fn on the database in a goroutine of its own so that the caller never waits
// longer than timeout, and turns what a damaged file does inside bbolt (panics, and memory
// faults on a truncated mmap, which would otherwise kill the process with SIGBUS) into a
// DamagedError. After a panic the handle is poisoned: bbolt may have left its locks held
// (a panic in rollback), so every later call fails fast instead of blocking forever.
func (s *Store) guard(write bool, fn func(*bolt.Tx) error) error {
	return s.guardTx(write, false, fn)
}

// guardTx is guard with a choice of bbolt's Batch for writes that many goroutines make at
// once (fn may then run more than once and must be idempotent).
func (s *Store) guardTx(write, batch bool, fn func(*bolt.Tx) error) error {
	if err := s.unusable(); err != nil {
		return err
	}
	done := make(chan error, 1)
	s.inFlight.Add(1)
	go func() {
		defer s.inFlight.Add(-1)
		done <- s.protect(func() error {
			switch {
			case write && batch:
				return s.db.Batch(fn)
			case write:
				return s.db.Update(fn)
			}
			return s.db.View(fn)
		})
	}()
	t := time.NewTimer(s.opTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		if write {
			s.noteWrite(err)
		}
		return err
	case <-t.C:
		// Leave the goroutine: it ends when the disk answers. Until then calls fail fast
		// rather than piling up behind bbolt's lock.
		s.stuck.Add(1)
		go func() {
			err := <-done
			if write {
				s.noteWrite(err)
			}
			s.stuck.Add(-1)
		}()
		err := fmt.Errorf("%s: an operation did not finish within %s: %w", s.path, s.opTimeout, ErrStuck)
		if write {
			s.noteWrite(err)
		}
		return err
	}
}

// protect calls fn with memory faults turned into panics and panics into a poisoned store.
func (s *Store) protect(fn func() error) error {
	err := protect(s.path, fn)
	var d *DamagedError
	if errors.As(err, &d) && d.fromPanic {
		return s.poison(d.Detail)
	}
	return err
}

// protect calls fn with memory faults turned into panics, and a panic into a DamagedError.
func protect(path string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = &DamagedError{Path: path, Detail: fmt.Sprintf("bbolt failed reading it: %v", r), fromPanic: true}
		}
	}()
	return fn()
}

func (s *Store) poison(detail string) error {
	d := &DamagedError{Path: s.path, Detail: detail}
	s.broken.CompareAndSwap(nil, d)
	return s.broken.Load()
}

func (s *Store) unusable() error {
	if d := s.broken.Load(); d != nil {
		return d
	}
	if s.stuck.Load() > 0 {
		return fmt.Errorf("%s: an earlier operation is still running: %w", s.path, ErrStuck)
	}
	return nil
}

func (s *Store) noteWrite(err error) {
	if err == nil {
		s.writeErr.Store(nil)
		return
	}
	s.writeErr.Store(&err)
}

// Health reports whether the store can record: nil, or why not (damaged, not responding,
// or the last write failed, e.g. a full disk). A later successful write clears a write error.
func (s *Store) Health() error {
	if err := s.unusable(); err != nil {
		return err
	}
	if p := s.writeErr.Load(); p != nil {
		return fmt.Errorf("last write failed: %w", *p)
	}
	return nil
}

// Skipped counts the corrupt records reads have skipped since the store was opened.
func (s *Store) Skipped() int64 { return s.skipped.Load() }

// bbolt's file format (version 2): a 16-byte page header, then the meta fields.
const (
	boltMagic     = 0xED0CDAED
	boltVersion   = 2
	pageHeader    = 16
	metaSumOffset = 56 // bytes of the meta that the checksum covers
)

type fileMeta struct {
	pageSize uint32
	root     uint64 // the root bucket's page
	freelist uint64
	pgid     uint64 // high-water mark: pages below it are in use
	txid     uint64
}

// precheck reads the meta pages with ordinary reads (no mmap, so a truncated file cannot
// fault) and verifies that the file holds every page the newest valid meta refers to.
func precheck(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return nil // bbolt initializes an empty file
	}
	return checkFile(path, f, fi.Size())
}

// checkFile is precheck on the file's contents f, of size bytes.
func checkFile(path string, f io.ReaderAt, size int64) error {
	best, err := newestMeta(f)
	if err != nil {
		return &DamagedError{Path: path, Detail: err.Error()}
	}
	if need := int64(best.pgid) * int64(best.pageSize); best.pgid > 1<<40 || size < need {
		return &DamagedError{Path: path, Detail: fmt.Sprintf("truncated: %d bytes, its pages need %d", size, need)}
	}
	tc := newTreeCheck(f, best, best.pgid)
	detail := ""
	if err := checkFreelist(f, best, tc.pages); err != nil {
		detail = "freelist: " + err.Error()
	} else if problems := tc.run(best.root); len(problems) > 0 {
		detail = treeDetail(problems)
	}
	if detail == "" {
		return nil
	}
	// These reads take no lock: a process writing the file meanwhile may have reused
	// pages of the tree they followed. Pages in use are only reused after a newer meta,
	// so an unchanged meta means the damage is real.
	if now, err := newestMeta(f); err == nil && now.txid != best.txid {
		return fmt.Errorf("%s changed while it was checked: %w", path, ErrLocked)
	}
	return &DamagedError{Path: path, Detail: detail}
}

// newestMeta returns the meta page bbolt will use: the valid one with the higher txid.
func newestMeta(f io.ReaderAt) (fileMeta, error) {
	m0, err0 := readMeta(f, 0)
	size := uint32(os.Getpagesize())
	if err0 == nil {
		size = m0.pageSize
	}
	m1, err1 := readMeta(f, int64(size))
	switch {
	case err0 == nil && err1 == nil && m1.txid > m0.txid:
		return m1, nil
	case err0 == nil:
		return m0, nil
	case err1 == nil:
		return m1, nil
	}
	return fileMeta{}, fmt.Errorf("no valid meta page (page 0: %v; page 1: %v)", err0, err1)
}

// treeDamage is the tree check for Salvage, on a file that may be truncated or have a
// damaged freelist: the buckets bbolt must not be let read. Pages past the end of the
// file count as outside it; free pages are not looked at (reading one is harmless).
func treeDamage(path string) []treeProblem {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	m, err := newestMeta(f)
	if err != nil {
		return nil // bbolt cannot open it either
	}
	pages := min(m.pgid, uint64(fi.Size())/uint64(m.pageSize))
	return newTreeCheck(f, m, pages).run(m.root)
}

// treeDetail says which parts of the tree are damaged.
func treeDetail(problems []treeProblem) string {
	const shown = 10
	var parts []string
	for _, p := range problems[:min(len(problems), shown)] {
		parts = append(parts, p.String())
	}
	if len(problems) > shown {
		parts = append(parts, fmt.Sprintf("and %d more", len(problems)-shown))
	}
	return "damaged page tree: " + strings.Join(parts, "; ")
}

// checkFreelist verifies the freelist page, which bbolt reads on open, where a damaged one
// panics before there is a handle to close (and its mmap keeps the file lock). It marks
// the freelist's pages and the free pages in pages, for the tree check that follows.
func checkFreelist(f io.ReaderAt, m fileMeta, pages []byte) error {
	const noFreelist, freelistFlag = ^uint64(0), 0x10
	if m.freelist == noFreelist {
		return nil
	}
	if m.freelist < 2 || m.freelist >= m.pgid {
		return fmt.Errorf("page %d outside the file's %d pages", m.freelist, m.pgid)
	}
	hdr := make([]byte, pageHeader+8)
	if _, err := f.ReadAt(hdr, int64(m.freelist)*int64(m.pageSize)); err != nil {
		return err
	}
	le := binary.LittleEndian
	if id := le.Uint64(hdr); id != m.freelist {
		return fmt.Errorf("page %d says it is page %d", m.freelist, id)
	}
	if flags := le.Uint16(hdr[8:]); flags != freelistFlag {
		return fmt.Errorf("page %d is not a freelist page (flags %#x)", m.freelist, flags)
	}
	overflow := uint64(le.Uint32(hdr[12:]))
	if m.freelist+overflow >= m.pgid {
		return fmt.Errorf("page %d overflows past the end (%d more pages)", m.freelist, overflow)
	}
	count, skip := uint64(le.Uint16(hdr[10:])), uint64(0)
	if count == 0xFFFF {
		count, skip = le.Uint64(hdr[pageHeader:]), 1
	}
	if (count+skip)*8 > (overflow+1)*uint64(m.pageSize)-pageHeader {
		return fmt.Errorf("page %d lists %d free pages, more than it holds", m.freelist, count)
	}
	ids := make([]byte, count*8)
	if _, err := f.ReadAt(ids, int64(m.freelist)*int64(m.pageSize)+pageHeader+int64(skip*8)); err != nil {
		return err
	}
	for id := m.freelist; id <= m.freelist+overflow; id++ {
		pages[id] = pageFreelist
	}
	for i := uint64(0); i < count; i++ {
		id := le.Uint64(ids[i*8:])
		if id < 2 || id >= m.pgid {
			return fmt.Errorf("free page %d outside the file's %d pages", id, m.pgid)
		}
		if pages[id] != pageUnseen {
			// bbolt would hand the page out twice, or overwrite the freelist itself.
			return fmt.Errorf("page %d listed free twice, or is the freelist", id)
		}
		pages[id] = pageFree
	}
	return nil
}

func readMeta(f io.ReaderAt, off int64) (fileMeta, error) {
	buf := make([]byte, pageHeader+metaSumOffset+8)
	if _, err := f.ReadAt(buf, off); err != nil {
		return fileMeta{}, fmt.Errorf("unreadable: %w", err)
	}
	m := buf[pageHeader:]
	le := binary.LittleEndian
	if le.Uint32(m[0:]) != boltMagic {
		return fileMeta{}, errors.New("not a bbolt meta page")
	}
	if v := le.Uint32(m[4:]); v != boltVersion {
		return fileMeta{}, fmt.Errorf("bbolt format version %d", v)
	}
	h := fnv.New64a()
	h.Write(m[:metaSumOffset])
	if h.Sum64() != le.Uint64(m[metaSumOffset:]) {
		return fileMeta{}, errors.New("checksum mismatch")
	}
	ps := le.Uint32(m[8:])
	if ps < 512 || ps > 1<<20 || ps&(ps-1) != 0 {
		return fileMeta{}, fmt.Errorf("page size %d", ps)
	}
	return fileMeta{pageSize: ps, root: le.Uint64(m[16:]), freelist: le.Uint64(m[32:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}, nil
}

// walk visits every bucket, key and value reachable from the root, touching every branch
// and leaf page, and seeks every key back (which reads the branch keys too): run under
// protect, a damaged page shows up here, not in a later cycle. (bbolt's own Tx.Check runs
// in a goroutine of its own, where a memory fault on a damaged file cannot be caught.)
func walk(tx *bolt.Tx) (keys int, err error) {
	var visit func(b *bolt.Bucket, depth int) error
	visit = func(b *bolt.Bucket, depth int) error {
		if depth > 8 {
			return errors.New("buckets nested deeper than this store ever writes")
		}
		c, seek := b.Cursor(), b.Cursor()
		var prev []byte
		for k, v := c.First(); k != nil; k, v = c.Next() {
			keys++
			if prev != nil && bytes.Compare(prev, k) >= 0 {
				return fmt.Errorf("keys out of order: %x after %x", k, prev)
			}
			prev = append(prev[:0], k...)
			if got, _ := seek.Seek(k); !bytes.Equal(got, k) {
				return fmt.Errorf("key %x cannot be found by seeking (branch pages disagree with leaves)", k)
			}
			if v == nil {
				nb := b.Bucket(k)
				if nb == nil {
					return fmt.Errorf("key %x: neither value nor bucket", k)
				}
				if err := visit(nb, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err = tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		keys++
		return visit(b, 1)
	})
	return keys, err
}

// runWithin runs fn in a goroutine and gives up waiting after d.
func runWithin(d time.Duration, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("did not finish within %s: %w", d, ErrStuck)
	}
}
