package local

import (
	"slices"
	"strings"
)

// launcherJVMDefaults keep a 2-core machine usable with several JVMs: one GC thread per
// collection, the C1 compiler only, small thread stacks. They are the launcher's, not Flink's:
// the user's options (env.java.opts.*) come after them and win, and a collector the user
// selects replaces the Serial one (the JVM refuses two).
var launcherJVMDefaults = []string{"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k"}

// gcSelectors are the HotSpot flags that select a collector.
var gcSelectors = []string{"-XX:+UseSerialGC", "-XX:+UseParallelGC", "-XX:+UseParallelOldGC", "-XX:+UseG1GC",
	"-XX:+UseZGC", "-XX:+UseShenandoahGC", "-XX:+UseEpsilonGC", "-XX:+UseConcMarkSweepGC"}

// javaOptsKeys are the configuration keys whose JVM options Flink's scripts pass to a role's
// JVM, in their order on the command line (config.sh joins env.java.default-opts.all and
// env.java.opts.all, or the deprecated env.java.opts when .all is unset, into
// FLINK_ENV_JAVA_OPTS; taskmanager.sh and jobmanager.sh append the role's default-opts and
// opts; flink-daemon.sh runs `java $JVM_ARGS $FLINK_ENV_JAVA_OPTS <log settings> -classpath
// ...`, JVM_ARGS holding BashJavaUtils' memory flags).
func javaOptsKeys(conf map[string]string, role string) []string {
	all := "env.java.opts.all"
	if conf[all] == "" {
		all = "env.java.opts"
	}
	return []string{"env.java.default-opts.all", all, "env.java.default-opts." + role, "env.java.opts." + role}
}

// JavaOpts is the user's JVM options for a role ("jobmanager" or "taskmanager") from conf,
// split on white space as the shell splits ${FLINK_ENV_JAVA_OPTS}, with the surrounding double
// quotes config.sh strips removed and ${FLINK_LOG_PREFIX} (the process's log path without
// ".log", which Flink's documentation uses for GC logs) expanded. No other shell expansion is
// done.
func JavaOpts(conf map[string]string, role, logPrefix string) []string {
	var out []string
	for _, k := range javaOptsKeys(conf, role) {
		v := strings.TrimSpace(conf[k])
		v = strings.TrimSuffix(strings.TrimPrefix(v, `"`), `"`)
		v = strings.ReplaceAll(v, "${FLINK_LOG_PREFIX}", logPrefix)
		v = strings.ReplaceAll(v, "$FLINK_LOG_PREFIX", logPrefix)
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// jvmArgs is a Flink process's JVM options before the classpath, in flink-daemon.sh's order:
// the memory flags flinktune derives (JVM_ARGS), the launcher's defaults (without the Serial
// collector when the user selects one), the user's options for the role (later flags win in
// HotSpot, so theirs override ours and the memory flags), Pekko's start-up timeout unless the
// user sets it (pekkoStartupArg), then the log settings.
func jvmArgs(memArgs []string, conf map[string]string, role, logFile, log4jFile string) []string {
	user := JavaOpts(conf, role, strings.TrimSuffix(logFile, ".log"))
	userGC := slices.ContainsFunc(user, func(f string) bool { return slices.Contains(gcSelectors, f) })
	jvm := slices.Clone(memArgs)
	for _, f := range launcherJVMDefaults {
		if userGC && slices.Contains(gcSelectors, f) {
			continue
		}
		jvm = append(jvm, f)
	}
	jvm = append(jvm, user...)
	if arg := pekkoStartupArg(conf); arg != "" && !setsSystemProperty(user, pekkoClassicStartupKey) {
		jvm = append(jvm, arg)
	}
	return append(jvm, "-Dlog.file="+logFile, "-Dlog4j.configurationFile=file:"+log4jFile)
}
