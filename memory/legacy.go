package memory

import "github.com/flinktune/flinktune/flinkconf"

// legacyHeap names the Flink 1.x heap settings of one process type, most important first.
type legacyHeap struct {
	envVar string
	size   flinkconf.Option // memory size
	mb     flinkconf.Option // int, MiB
}

var (
	tmLegacyHeap = legacyHeap{envVar: "FLINK_TM_HEAP", size: flinkconf.TMLegacyHeapSize, mb: flinkconf.TMLegacyHeapMB}
	jmLegacyHeap = legacyHeap{envVar: "FLINK_JM_HEAP", size: flinkconf.JMLegacyHeapSize, mb: flinkconf.JMLegacyHeapMB}
)

// Environment variables the derivation reads from its env argument (never from the process).
const (
	EnvTMHeap = "FLINK_TM_HEAP"
	EnvJMHeap = "FLINK_JM_HEAP"
)

// mapLegacyHeap is MemoryBackwardsCompatibilityUtils.getConfWithLegacyHeapSizeMappedToNewConfigOption
// as the standalone start-up scripts (BashJavaUtils) call it: unless target is configured, the
// first legacy heap value found (environment variable, size key, MiB key) becomes target's value.
func (d *deriver) mapLegacyHeap(lh legacyHeap, target flinkconf.Option, env map[string]string) *exception {
	if d.configured(target) {
		return nil
	}
	src := Source{Kind: SourceLegacy, Option: target.Key}
	var bytes int64
	if v, ok := env[lh.envVar]; ok {
		b, err := flinkconf.ParseMemorySize(v)
		if err != nil {
			return errLegacyEnv(v, err)
		}
		bytes, src.Key, src.Raw = b, lh.envVar, v
	} else if d.cfg.IsConfigured(lh.size) {
		b, s, err := d.size(lh.size)
		if err != nil {
			return err
		}
		bytes, src.Key, src.Raw, src.Origin = b, s.keyName(), s.Raw, s.Origin
	} else if d.cfg.IsConfigured(lh.mb) {
		mb, _, err := d.cfg.Int(lh.mb)
		if err != nil {
			return err
		}
		if mb < 0 {
			return errLegacyNegativeMB(int64(mb))
		}
		raw, key, _ := d.cfg.Lookup(lh.mb)
		bytes, src.Key, src.Raw, src.Origin = int64(mb)<<20, key, raw, d.cfg.OriginOf(key)
	} else {
		return nil
	}
	d.mapped = map[string]mappedValue{target.Key: {bytes: bytes, src: src}}
	return nil
}
