package tiny

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Platform is what the JVM's memory ergonomics depend on: the page size (which sets the heap
// alignment through the card table) and the default stack sizes (HotSpot's
// globals_<os>_<cpu>.hpp).
type Platform struct {
	Name string
	// PageSize is os::vm_page_size(): 4 KiB on Linux, 16 KiB on Apple silicon.
	PageSize int64
	// ThreadStackSize is the default -Xss of Java threads; VMThreadStackSize and
	// CompilerThreadStackSize are those of the VM's own threads, which -Xss does not change.
	ThreadStackSize, VMThreadStackSize, CompilerThreadStackSize int64
	// Cal is the platform's own calibration; nil is the seed's (calibration.go).
	Cal *Calibration
}

// Platforms the model knows. The seed's machine is macos-arm64 (Apple M1 Max).
var platforms = []Platform{
	// globals_linux_x86.hpp: ThreadStackSize = VMThreadStackSize = CompilerThreadStackSize = 1M.
	{Name: "linux-x64", PageSize: 4 * KiB, ThreadStackSize: MiB, VMThreadStackSize: MiB, CompilerThreadStackSize: MiB},
	// linux-x64 measured: OpenJDK 17 on 2 shared x86-64 CPUs, Flink 1.20 (calibration_linux.go).
	{Name: "linux-x64-jdk17", PageSize: 4 * KiB, ThreadStackSize: MiB, VMThreadStackSize: MiB, CompilerThreadStackSize: MiB, Cal: linuxX64JDK17},
	// globals_linux_aarch64.hpp: 2048 KiB for all three.
	{Name: "linux-arm64", PageSize: 4 * KiB, ThreadStackSize: 2 * MiB, VMThreadStackSize: 2 * MiB, CompilerThreadStackSize: 2 * MiB},
	// globals_bsd_aarch64.hpp: 2048 KiB for all three; macOS on Apple silicon has 16 KiB pages.
	{Name: "macos-arm64", PageSize: 16 * KiB, ThreadStackSize: 2 * MiB, VMThreadStackSize: 2 * MiB, CompilerThreadStackSize: 2 * MiB},
}

// PlatformNames lists the accepted --platform values.
func PlatformNames() []string {
	var names []string
	for _, p := range platforms {
		names = append(names, p.Name)
	}
	return names
}

// ParsePlatform finds a platform by name; "macos-aarch64", "linux-amd64", "linux-aarch64" and
// "seed" (the seed's Apple M1 Max) are accepted as aliases.
func ParsePlatform(name string) (Platform, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "linux-amd64", "linux-x86_64", "linux":
		n = "linux-x64"
	case "linux-amd64-jdk17", "linux-x86_64-jdk17":
		n = "linux-x64-jdk17"
	case "linux-aarch64":
		n = "linux-arm64"
	case "macos-aarch64", "darwin-arm64", "seed":
		n = "macos-arm64"
	}
	i := slices.IndexFunc(platforms, func(p Platform) bool { return p.Name == n })
	if i < 0 {
		return Platform{}, fmt.Errorf("unknown platform %q: want one of %s", name, strings.Join(PlatformNames(), ", "))
	}
	return platforms[i], nil
}

// cardSize is the card table's card size in bytes (GCCardSizeInBytes, 512 by default).
const cardSize = 512

// g1RegionSize is G1's region size for heaps below 4 GiB: max(heap/2048, 1 MiB) rounded down to
// a power of two, which is 1 MiB for every heap this command deals with.
func g1RegionSize(maxHeap int64) int64 {
	r := max(maxHeap/2048, MiB)
	r = int64(1) << (63 - bits.LeadingZeros64(uint64(r)))
	return min(r, 32*MiB)
}

// HeapAlignment is HotSpot's HeapAlignment: -Xmx is rounded up to it. It is the largest of the
// card table's alignment constraint (card size × page size: 2 MiB with 4 KiB pages, 8 MiB with
// the 16 KiB pages of Apple silicon), the space alignment (G1: the region size; Serial and
// Parallel: 64 KiB) and the page size. This is why the seed's -Xmx100m shows up in Native Memory
// Tracking as a 106,496 KB (104 MiB) heap, and why -Xmx60m gives a 64 MiB direct memory limit.
func (p Platform) HeapAlignment(gc GC, maxHeap int64) int64 {
	space := 64 * KiB
	if gc == GCG1 {
		space = g1RegionSize(maxHeap)
	}
	return max(cardSize*p.PageSize, space, p.PageSize)
}

// EffectiveHeap is the maximum heap the JVM really reserves and commits for -Xmx xmx.
func (p Platform) EffectiveHeap(gc GC, xmx int64) int64 {
	return alignUp(xmx, p.HeapAlignment(gc, xmx))
}

// MaxMemory is Runtime.getRuntime().maxMemory() for an effective heap: all of it for G1, the heap
// minus one survivor space for the generational collectors (young = heap/(NewRatio+1) with
// NewRatio 2, survivor = young/(SurvivorRatio+2) with SurvivorRatio 8). It is also the JDK's
// default direct memory limit when -XX:MaxDirectMemorySize is unset.
func MaxMemory(gc GC, heap int64) int64 {
	if gc == GCG1 {
		return heap
	}
	young := heap / 3
	return heap - young/10
}

// guardZone is the part of a thread stack that is never resident: the yellow (2), red (1) and
// reserved (1) guard pages, counted in 4 KiB units and aligned to the page size.
func (p Platform) guardZone() int64 {
	return alignUp(2*4*KiB, p.PageSize) + alignUp(4*KiB, p.PageSize) + alignUp(4*KiB, p.PageSize)
}

// ParallelGCThreads is HotSpot's default: all CPUs up to 8, then 5/8 of each further CPU.
func ParallelGCThreads(cpus int) int {
	if cpus <= 8 {
		return max(cpus, 1)
	}
	return 8 + (cpus-8)*5/8
}

// ConcGCThreads is G1's default number of concurrent marking threads: (ParallelGCThreads+2)/4.
func ConcGCThreads(cpus int) int { return max((ParallelGCThreads(cpus)+2)/4, 1) }

// CompilerThreads is HotSpot's CICompilerCount with CICompilerCountPerCPU: log2(n)·log2(log2(n))·3/2,
// at least 2 (integer logarithms). With tiered compilation a third (at least one) are C1 threads
// and the rest C2; with -XX:TieredStopAtLevel=1 all are C1.
func CompilerThreads(cpus int) (c1, c2 int, total int) {
	logc := log2i(max(cpus, 1))
	loglog := log2i(max(logc, 1))
	total = max(logc*loglog*3/2, 2)
	c1 = max(total/3, 1)
	return c1, max(total-c1, 1), total
}

func log2i(n int) int { return 63 - bits.LeadingZeros64(uint64(n)) }

// DefaultGC is the JVM's ergonomic choice: G1 on a server-class machine (at least 2 CPUs and,
// assumed here, at least 1792 MiB of RAM), Serial otherwise.
func DefaultGC(cpus int) GC {
	if cpus >= 2 {
		return GCG1
	}
	return GCSerial
}
