package local

import (
	"slices"
	"strconv"
	"strings"

	"github.com/flinktune/flinktune/flinkconf"
)

// pekkoClassicStartupKey is where Pekko's classic remoting (the transport Flink uses) reads its
// start-up timeout (RemoteSettings.StartupTimeout; 10 s in Pekko's reference.conf).
const pekkoClassicStartupKey = "pekko.remote.classic.startup-timeout"

// pekkoStartupArg is a JVM system property that makes Flink's pekko.startup-timeout reach
// Pekko. Flink (1.18 to 2.2, PekkoUtils#addBaseRemoteConfig) writes the option to
// pekko.remote.startup-timeout, a key the classic transport no longer reads, so every actor
// system gave up after Pekko's 10 s ("Startup timed out. This is usually related to actor
// system host setting or host name resolution misconfiguration.") whatever the option said:
// three of six 2.2.1 cluster starts at load 47-121 in stop 25. Pekko merges the configuration
// Flink builds over its reference configuration, which Typesafe Config overrides with system
// properties, and Flink's configuration leaves the classic key unset, so the property is what
// applies. The value is Flink's: the option, or ten times pekko.ask.timeout (10 s by default)
// when it is unset. An invalid value adds nothing (Flink itself refuses it).
func pekkoStartupArg(conf map[string]string) string {
	text := strings.TrimSpace(conf["pekko.startup-timeout"])
	factor := int64(1)
	if text == "" {
		text, factor = "10 s", 10
		if ask := strings.TrimSpace(conf["pekko.ask.timeout"]); ask != "" {
			text = ask
		}
	}
	d, err := flinkconf.ParseDuration(text)
	if err != nil || d <= 0 {
		return ""
	}
	return "-D" + pekkoClassicStartupKey + "=" + strconv.FormatInt(d.Milliseconds()*factor, 10) + "ms"
}

// setsSystemProperty reports whether JVM options opts set the system property key.
func setsSystemProperty(opts []string, key string) bool {
	return slices.ContainsFunc(opts, func(o string) bool { return strings.HasPrefix(o, "-D"+key+"=") })
}
