package store

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
)

// bbolt's page layout: a 16-byte header (id, flags, count, overflow), then count elements
// of 16 bytes whose pos is relative to the element itself. A branch element is pos, key
// size, child page id; a leaf element is flags, pos, key size, value size. A bucket's value
// is its root page id and sequence, followed, when the root is 0, by the bucket's only
// page (an inline bucket, always a leaf without sub-buckets).
const (
	branchFlag     = 0x01
	leafFlag       = 0x02
	bucketElemFlag = 0x01
	elemSize       = 16
	bucketHeader   = 16
)

// What the tree check knows of a page.
const (
	pageUnseen byte = iota
	pageMeta
	pageFreelist
	pageFree
	pageTree     // the first page of a tree page
	pageOverflow // a tree page's overflow
)

var pageRole = [...]string{pageMeta: "a meta page", pageFreelist: "the freelist", pageFree: "listed free",
	pageTree: "already in the tree", pageOverflow: "in another page's overflow"}

// treeProblem is damage in the bucket at path (the bucket names from the top; none for
// the file's root). Hard damage is where bbolt cannot be let read: it would loop, recurse
// without end, or read a page as what it is not, and nothing below was checked. Soft
// damage (a wrong overflow count, a used page listed free) is harmless to reads but would
// corrupt the file on the next write there.
type treeProblem struct {
	path []string
	err  error
	soft bool
}

func (p treeProblem) String() string {
	if len(p.path) == 0 {
		return "root: " + p.err.Error()
	}
	return "bucket " + strings.Join(p.path, "/") + ": " + p.err.Error()
}

// treeCheck follows every page reachable from the meta's root, bucket roots and inline
// buckets included, with ordinary reads, before bbolt maps the file. bbolt trusts the tree:
// its cursors take any page that is not a leaf for a branch and descend into element 0 even
// when the page has none, and an inline bucket resolves page 0 to its own page; a page that
// leads back to itself then sends First into an endless descent that also grows without
// bound (bbolt cursor.go, goToFirstElementOnTheStack; bucket.go, pageNode), and Seek into an
// endless recursion that kills the process. Every page is read once (the pages slice marks
// it), so the check is linear in the file and cannot loop itself. Records (keys, values)
// are not looked at: one that is damaged is skipped by the reads, as before.
type treeCheck struct {
	f        io.ReaderAt
	ps       uint64
	pgid     uint64
	pages    []byte // per page id: pageUnseen, pageMeta, ...
	buf      []byte
	problems []treeProblem
}

// newTreeCheck checks the tree of meta m in f, where pages below pgid can be read.
func newTreeCheck(f io.ReaderAt, m fileMeta, pgid uint64) *treeCheck {
	c := &treeCheck{f: f, ps: uint64(m.pageSize), pgid: pgid, pages: make([]byte, pgid)}
	for id := uint64(0); id < 2 && id < pgid; id++ {
		c.pages[id] = pageMeta
	}
	return c
}

// run checks the tree under root and returns the damage it found.
func (c *treeCheck) run(root uint64) []treeProblem {
	if err := c.tree(nil, root); err != nil {
		c.note(nil, err, false)
	}
	return c.problems
}

func (c *treeCheck) note(path []string, err error, soft bool) {
	c.problems = append(c.problems, treeProblem{path: slices.Clone(path), err: err, soft: soft})
}

// hardDamage returns the hard problem in the bucket at path, or in one that holds it.
func hardDamage(problems []treeProblem, path ...string) (treeProblem, bool) {
	for _, p := range problems {
		if !p.soft && len(p.path) <= len(path) && slices.Equal(p.path, path[:len(p.path)]) {
			return p, true
		}
	}
	return treeProblem{}, false
}

// tree checks the pages under id, the root page of the bucket at path, and returns hard
// damage. A sub-bucket with hard damage is noted and skipped, so that the rest of this
// bucket is still checked.
func (c *treeCheck) tree(path []string, id uint64) error {
	flags, elems, err := c.page(path, id)
	if err != nil {
		return err
	}
	if flags == branchFlag {
		for _, child := range branchChildren(elems) {
			if err := c.tree(path, child); err != nil {
				return err
			}
		}
		return nil
	}
	return c.leaf(path, id, elems)
}

// page claims page id (and its overflow) for the tree, checks its header, and returns its
// flags and element array. One read of the page's first KiB gets the header and, but on
// branch pages of many keys, the elements: that read per page (about 1 µs) is most of the
// check's cost.
func (c *treeCheck) page(path []string, id uint64) (flags uint16, elems []byte, err error) {
	if id < 2 {
		return 0, nil, fmt.Errorf("page %d is a meta page", id)
	}
	if id >= c.pgid {
		return 0, nil, fmt.Errorf("page %d outside the file's %d pages", id, c.pgid)
	}
	buf, err := c.readAt(id*c.ps, min(c.ps, 1024))
	if err != nil {
		return 0, nil, fmt.Errorf("page %d: %w", id, err)
	}
	le := binary.LittleEndian
	if got := le.Uint64(buf); got != id {
		return 0, nil, fmt.Errorf("page %d says it is page %d", id, got)
	}
	flags, count, overflow := le.Uint16(buf[8:]), uint64(le.Uint16(buf[10:])), uint64(le.Uint32(buf[12:]))
	if flags != branchFlag && flags != leafFlag {
		return 0, nil, fmt.Errorf("page %d is neither a branch nor a leaf (flags %#x)", id, flags)
	}
	if flags == branchFlag && count == 0 {
		return 0, nil, fmt.Errorf("branch page %d has no elements", id)
	}
	if s := c.pages[id]; s == pageTree || s == pageMeta || s == pageFreelist {
		return 0, nil, fmt.Errorf("page %d is %s", id, pageRole[s])
	}
	c.claimOverflow(path, id, overflow)
	end := pageHeader + count*elemSize
	if end > (overflow+1)*c.ps || id*c.ps+end > c.pgid*c.ps {
		return 0, nil, fmt.Errorf("page %d: %d elements do not fit", id, count)
	}
	if end > uint64(len(buf)) {
		if buf, err = c.readAt(id*c.ps, end); err != nil {
			return 0, nil, fmt.Errorf("page %d: %w", id, err)
		}
	}
	return flags, buf[pageHeader:end], nil
}

// claimOverflow marks page id and its overflow pages as the tree's, noting soft damage:
// bbolt's reads never look at the overflow count, but freeing the page frees that many.
func (c *treeCheck) claimOverflow(path []string, id, overflow uint64) {
	if s := c.pages[id]; s != pageUnseen {
		c.note(path, fmt.Errorf("page %d is %s", id, pageRole[s]), true)
	}
	c.pages[id] = pageTree
	if id+overflow >= c.pgid {
		c.note(path, fmt.Errorf("page %d overflows past the end (%d more pages)", id, overflow), true)
		overflow = c.pgid - 1 - id
	}
	for p := id + 1; p <= id+overflow; p++ {
		if s := c.pages[p]; s != pageUnseen {
			c.note(path, fmt.Errorf("page %d, in page %d's overflow, is %s", p, id, pageRole[s]), true)
			continue
		}
		c.pages[p] = pageOverflow
	}
}

// readAt reads n bytes at off into a scratch slice that the next read reuses: callers
// copy what they keep.
func (c *treeCheck) readAt(off, n uint64) ([]byte, error) {
	if uint64(cap(c.buf)) < n {
		c.buf = make([]byte, n)
	}
	_, err := c.f.ReadAt(c.buf[:n], int64(off))
	return c.buf[:n], err
}

// branchChildren copies the child page ids out of a branch page's elements.
func branchChildren(elems []byte) []uint64 {
	ids := make([]uint64, len(elems)/elemSize)
	for i := range ids {
		ids[i] = binary.LittleEndian.Uint64(elems[i*elemSize+8:])
	}
	return ids
}

// leaf checks the sub-buckets of leaf page id of the bucket at path.
func (c *treeCheck) leaf(path []string, id uint64, elems []byte) error {
	type sub struct {
		name  string
		value []byte
	}
	var subs []sub
	le := binary.LittleEndian
	for i := uint64(0); i < uint64(len(elems))/elemSize; i++ {
		e := elems[i*elemSize:]
		if le.Uint32(e)&bucketElemFlag == 0 {
			continue
		}
		pos, ks, vs := uint64(le.Uint32(e[4:])), uint64(le.Uint32(e[8:])), uint64(le.Uint32(e[12:]))
		at := id*c.ps + pageHeader + i*elemSize + pos
		// bbolt's keys are at most 32 KiB; of the value it reads the header and, for an
		// inline bucket, the page after it (less than a quarter page).
		vs = min(vs, c.ps)
		if ks > 32768 || at+ks+vs > c.pgid*c.ps {
			return fmt.Errorf("page %d: bucket element %d (key %d bytes) past the end of the file", id, i, ks)
		}
		kv := make([]byte, ks+vs)
		// elems is the scratch slice, and may end before the value: read it on its own.
		if _, err := c.f.ReadAt(kv, int64(at)); err != nil {
			return fmt.Errorf("page %d: %w", id, err)
		}
		subs = append(subs, sub{name: string(kv[:ks]), value: kv[ks:]})
	}
	for _, s := range subs {
		p := append(path[:len(path):len(path)], s.name)
		if err := c.bucket(p, s.value); err != nil {
			c.note(p, err, false)
		}
	}
	return nil
}

// bucket checks the bucket at path whose value (header, and page when inline) is v.
func (c *treeCheck) bucket(path []string, v []byte) error {
	if len(v) < bucketHeader {
		return fmt.Errorf("bucket value of %d bytes", len(v))
	}
	if root := binary.LittleEndian.Uint64(v); root != 0 {
		return c.tree(path, root)
	}
	return inlinePage(v[bucketHeader:])
}

// inlinePage checks an inline bucket's page: a leaf (bbolt descends any other page into
// its "page 0", which for an inline bucket is the page itself) of plain values within it.
func inlinePage(p []byte) error {
	if len(p) < pageHeader {
		return fmt.Errorf("inline page of %d bytes", len(p))
	}
	le := binary.LittleEndian
	flags, count := le.Uint16(p[8:]), uint64(le.Uint16(p[10:]))
	if flags != leafFlag {
		return fmt.Errorf("inline page is not a leaf (flags %#x)", flags)
	}
	if pageHeader+count*elemSize > uint64(len(p)) {
		return fmt.Errorf("inline page: %d elements do not fit", count)
	}
	for i := uint64(0); i < count; i++ {
		e := p[pageHeader+i*elemSize:]
		if le.Uint32(e)&bucketElemFlag != 0 {
			return fmt.Errorf("inline page holds a bucket (element %d)", i)
		}
		// bbolt makes its keys and values slices of the page; an inline page may be a
		// copy on the heap (bucket.go, openBucket), and a slice reaching past it is a bad
		// pointer that crashes the garbage collector, uncatchably.
		pos, n := uint64(le.Uint32(e[4:])), uint64(le.Uint32(e[8:]))+uint64(le.Uint32(e[12:]))
		if pageHeader+i*elemSize+pos+n > uint64(len(p)) {
			return fmt.Errorf("inline page: element %d runs past its end", i)
		}
	}
	return nil
}
