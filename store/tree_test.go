package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// boltFile is a store file's bytes, with the lookups the tests need to damage its page
// tree by hand.
type boltFile struct {
	t    *testing.T
	data []byte
	ps   uint64
	root uint64
}

func readBoltFile(t *testing.T, path string) *boltFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newestMeta(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return &boltFile{t: t, data: data, ps: uint64(m.pageSize), root: m.root}
}

// page returns the bytes of page id.
func (b *boltFile) page(id uint64) []byte { return b.data[id*b.ps : (id+1)*b.ps] }

// bucket returns the value (header, and page when inline) of bucket name in leaf page p.
func (b *boltFile) bucket(p []byte, name string) []byte {
	b.t.Helper()
	le := binary.LittleEndian
	for i := 0; i < int(le.Uint16(p[10:])); i++ {
		at := pageHeader + i*elemSize
		pos, ks, vs := int(le.Uint32(p[at+4:])), int(le.Uint32(p[at+8:])), int(le.Uint32(p[at+12:]))
		if string(p[at+pos:at+pos+ks]) == name {
			return p[at+pos+ks : at+pos+ks+vs]
		}
	}
	b.t.Fatalf("no bucket %q", name)
	return nil
}

// bucketRoot returns the root page id of the bucket at path from the top.
func (b *boltFile) bucketRoot(path ...string) uint64 {
	id := b.root
	for _, name := range path {
		id = binary.LittleEndian.Uint64(b.bucket(b.page(id), name))
	}
	return id
}

func (b *boltFile) write(t *testing.T, path string) {
	if err := os.WriteFile(path, b.data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTreeDamageRefused builds by hand damaged page trees of the kind that sends bbolt's
// cursor into an endless descent (the FuzzOpen crasher: an inline bucket whose page is not
// a leaf, and whose "element 0" leads to page 0, which for an inline bucket is the page
// itself), an inline page whose element reaches past it (bbolt's slices of a heap copy of
// the page then crash the garbage collector: "found bad pointer in Go heap"), and other
// trees bbolt cannot be let read. Open must refuse each as damaged at once, and salvage
// must still read every other record.
func TestTreeDamageRefused(t *testing.T) {
	clean := t.TempDir()
	populate(t, clean)
	job1 := key("job1").String()
	le := binary.LittleEndian
	history := func(b *boltFile) []byte {
		return b.bucket(b.page(b.bucketRoot("jobs", job1)), string(keyHistory))
	}
	cases := []struct {
		name        string
		damage      func(b *boltFile)
		want        string // in the refusal
		wantHistory int    // history entries salvaged (of 36)
	}{
		{"inline page without flags, element 0 to page 0", func(b *boltFile) {
			h := history(b)[bucketHeader:]
			le.PutUint16(h[8:], 0)
			clear(h[pageHeader+8 : pageHeader+16]) // the "child" of the fake branch element 0
		}, "bucket jobs/" + job1 + "/history: inline page is not a leaf (flags 0x0)", 30},
		{"inline page flagged branch, element 0 to page 0", func(b *boltFile) {
			h := history(b)[bucketHeader:]
			le.PutUint16(h[8:], branchFlag)
			clear(h[pageHeader+8 : pageHeader+16])
		}, "bucket jobs/" + job1 + "/history: inline page is not a leaf (flags 0x1)", 30},
		{"inline element past the inline page (the second crasher)", func(b *boltFile) {
			h := b.bucket(b.page(b.root), string(bucketMeta))[bucketHeader:]
			le.PutUint32(h[pageHeader+8:], 10<<20) // element 0's key size
		}, "bucket meta: inline page: element 0 runs past its end", 36},
		{"branch page whose first child is itself", func(b *boltFile) {
			id := b.bucketRoot("events")
			le.PutUint64(b.page(id)[pageHeader+8:], id)
		}, "bucket events: page", 36},
		{"branch page without elements", func(b *boltFile) {
			id := b.bucketRoot("events")
			le.PutUint16(b.page(id)[10:], 0)
			le.PutUint64(b.page(id)[pageHeader+8:], id)
		}, "bucket events: branch page", 36},
		{"bucket root is a meta page", func(b *boltFile) {
			le.PutUint64(b.bucket(b.page(b.root), "events"), 1)
		}, "bucket events: page 1 is a meta page", 36},
		{"page overflows past the end", func(b *boltFile) {
			le.PutUint32(b.page(b.bucketRoot("jobs", job1))[12:], 1<<20)
		}, "bucket jobs/" + job1 + ": page", 36},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			b := readBoltFile(t, filepath.Join(clean, FileName))
			tc.damage(b)
			b.write(t, path)
			_, err := OpenWith(dir, Options{OpenTimeout: 3 * time.Second})
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("open: %v, want ErrDamaged with %q", err, tc.want)
			}
			d, err := Salvage(dir, 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			hist := 0
			for _, j := range d.Jobs {
				hist += len(j.History)
			}
			if len(d.Jobs) != 6 || len(d.Events) != 360 || hist != tc.wantHistory {
				t.Errorf("salvaged %d jobs, %d events, %d history entries; want 6, 360, %d (problems: %q)",
					len(d.Jobs), len(d.Events), hist, tc.wantHistory, d.Problems)
			}
			for _, p := range d.Problems {
				if strings.Contains(p, ErrStuck.Error()) {
					t.Errorf("salvage hung: %s", p)
				}
			}
		})
	}
}

// sneakyFile serves before's bytes, and its meta pages from after once a read went past
// them: a file another process commits to while the check follows its tree.
type sneakyFile struct {
	before, after []byte
	ps            int64
	past          bool
}

func (f *sneakyFile) ReadAt(p []byte, off int64) (int, error) {
	src := f.before
	if f.past && off < 2*f.ps {
		src = f.after
	}
	f.past = f.past || off >= 2*f.ps
	return bytes.NewReader(src).ReadAt(p, off)
}

// TestCheckWhileWritten: the check reads without a lock, so damage it finds while the
// meta changes under it is a writer reusing pages (in use), not damage.
func TestCheckWhileWritten(t *testing.T) {
	dir := t.TempDir()
	populate(t, dir)
	path := filepath.Join(dir, FileName)
	damaged := readBoltFile(t, path)
	id := damaged.bucketRoot("events")
	binary.LittleEndian.PutUint64(damaged.page(id)[pageHeader+8:], id) // a cycle
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.CommitCycle(Cycle{Info: JobInfo{Key: key("job1")}})
	s.Close()
	later := readBoltFile(t, path)
	for _, tc := range []struct {
		name  string
		after []byte
		want  error
	}{
		{"meta unchanged", damaged.data, ErrDamaged},
		{"meta changed meanwhile", later.data, ErrLocked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &sneakyFile{before: damaged.data, after: tc.after, ps: int64(damaged.ps)}
			if err := checkFile(path, f, int64(len(damaged.data))); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
