package tiny

import (
	"math"
	"strings"
	"testing"
)

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"25mb/s", "0.5 MB/s", "512k", "20000rec/s", "1g/s", "", "1..2mb/s", "9e9g/s", ".5m", "5 mibps"} {
		f.Add(s, int64(1024))
	}
	f.Fuzz(func(t *testing.T, s string, rec int64) {
		r, err := ParseRate(s, rec)
		if err != nil {
			if !strings.Contains(err.Error(), "throughput") {
				t.Fatalf("error %q does not say what was wrong", err)
			}
			return
		}
		if r < 0 || r > maxRate || math.IsNaN(float64(r)) {
			t.Fatalf("ParseRate(%q) = %v", s, r)
		}
		// What String prints parses again to about the same rate.
		if r > 0 {
			back, err := ParseRate(strings.ReplaceAll(r.String(), " ", ""), 1)
			if err != nil || math.Abs(float64(back-r)) > 0.05*float64(r)+float64(KiB) {
				t.Fatalf("%v prints as %q, which parses as %v, %v", r, r.String(), back, err)
			}
		}
	})
}

func FuzzParseJVMSize(f *testing.F) {
	for _, s := range []string{"64m", "256k", "1g", "2T", "100", "", "m", "-1m", "1.5g", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseJVMSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseJVMSize(%q) = %d", s, n)
		}
		// The JVM's own rendering of the size parses back to it.
		if back, err := ParseJVMSize(JVMSize(n)); err != nil || back != n {
			t.Fatalf("%d renders as %q, which parses as %d, %v", n, JVMSize(n), back, err)
		}
	})
}

func FuzzParseJVMFlags(f *testing.F) {
	for _, s := range []string{
		"-Xmx60m", "-Xmx72m -Xms72m -Xss256k -XX:+UseSerialGC -XX:MaxMetaspaceSize=72m -XX:TieredStopAtLevel=1",
		"-XX:+UseG1GC -XX:+UseSerialGC", "-XX:ActiveProcessorCount=x", "-Xss1k", "-Djdk.nio.maxCachedBufferSize=-1", "  ",
		"-XX:ThreadStackSize=1048576", "-XX:ThreadStackSize=9007199254740992",
	} {
		f.Add(s)
	}
	mac := Machine{Platform: platforms[2], CPUs: 10}
	f.Fuzz(func(t *testing.T, s string) {
		j, err := ParseJVMFlags(s)
		if err != nil {
			if !strings.Contains(err.Error(), "JVM flag") {
				t.Fatalf("error %q does not name the flag", err)
			}
			return
		}
		if j.Heap < 0 || j.ThreadStack < 0 || j.MaxDirect < 0 || j.ActiveProcessors < 0 {
			t.Fatalf("negative setting from %q: %+v", s, j)
		}
		// Whatever parses can be evaluated without panicking (a missing or absurd heap is an
		// error, not a crash).
		if j.Heap > 0 && j.Heap < 1<<40 && j.ActiveProcessors < 1<<12 {
			if _, err := Evaluate(Setup{Machine: mac, JVM: j}); err != nil {
				t.Fatalf("Evaluate(%q): %v", s, err)
			}
		}
	})
}
