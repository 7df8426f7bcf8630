package local

import (
	"slices"
	"strings"
	"testing"
)

// The JVM command line of a launched process follows flink-daemon.sh's order (memory flags,
// then env.java.* options, then log settings); a collector the user selects replaces the
// launcher's Serial default, which the JVM would otherwise refuse ("multiple garbage
// collectors selected").
func TestJVMArgs(t *testing.T) {
	mem := []string{"-Xmx100m", "-Xms100m", "-XX:MaxDirectMemorySize=50m", "-XX:MaxMetaspaceSize=96m"}
	// Ten times Flink's default ask timeout (no case sets pekko.*).
	pekko := "-Dpekko.remote.classic.startup-timeout=100000ms"
	tail := []string{"-Dlog.file=/d/log/tm-0.log", "-Dlog4j.configurationFile=file:/d/conf/log4j.properties"}
	cases := []struct {
		name string
		role string
		conf map[string]string
		want []string // between the memory flags and the log settings
	}{
		{"defaults", "taskmanager", nil, launcherJVMDefaults},
		{"user collector replaces Serial", "taskmanager",
			map[string]string{"env.java.opts.taskmanager": "-XX:+UseParallelGC -XX:GCTimeLimit=90"},
			[]string{"-XX:TieredStopAtLevel=1", "-Xss512k", "-XX:+UseParallelGC", "-XX:GCTimeLimit=90"}},
		{"flink's order: default-opts.all, opts.all, default-opts.role, opts.role", "taskmanager",
			map[string]string{
				"env.java.opts.taskmanager":         "-Dd=4",
				"env.java.default-opts.taskmanager": "-Dc=3",
				"env.java.opts.all":                 "-Db=2",
				"env.java.default-opts.all":         "-Da=1",
				"env.java.opts.jobmanager":          "-Dnot=jm",
			},
			append(slices.Clone(launcherJVMDefaults), "-Da=1", "-Db=2", "-Dc=3", "-Dd=4")},
		{"deprecated env.java.opts when .all is unset", "jobmanager",
			map[string]string{"env.java.opts": "-Dold=1", "env.java.opts.jobmanager": "-XX:+UseG1GC", "env.java.opts.taskmanager": "-Dnot=tm"},
			[]string{"-XX:TieredStopAtLevel=1", "-Xss512k", "-Dold=1", "-XX:+UseG1GC"}},
		{".all wins over the deprecated key", "taskmanager",
			map[string]string{"env.java.opts": "-Dold=1", "env.java.opts.all": "-Dnew=1"},
			append(slices.Clone(launcherJVMDefaults), "-Dnew=1")},
		{"quotes stripped, log prefix expanded, user overrides later", "taskmanager",
			map[string]string{"env.java.opts.taskmanager": `"-Xss1m  -Xlog:gc:file=${FLINK_LOG_PREFIX}.gc.log -Xmx200m"`},
			append(slices.Clone(launcherJVMDefaults), "-Xss1m", "-Xlog:gc:file=/d/log/tm-0.gc.log", "-Xmx200m")},
		{"a non-collector GC flag keeps Serial", "taskmanager",
			map[string]string{"env.java.opts.taskmanager": "-XX:+UseGCOverheadLimit"},
			append(slices.Clone(launcherJVMDefaults), "-XX:+UseGCOverheadLimit")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := jvmArgs(mem, tc.conf, tc.role, "/d/log/tm-0.log", "/d/conf/log4j.properties")
			want := append(append(append(slices.Clone(mem), tc.want...), pekko), tail...)
			if !slices.Equal(got, want) {
				t.Errorf("jvmArgs:\n got %s\nwant %s", strings.Join(got, " "), strings.Join(want, " "))
			}
			n := 0
			for _, f := range got {
				if slices.Contains(gcSelectors, f) {
					n++
				}
			}
			if n > 1 {
				t.Errorf("%d collectors selected: %v", n, got)
			}
		})
	}
}

// Flink writes pekko.startup-timeout where Pekko's classic remoting does not read it, so the
// launcher passes it as the system property Pekko does read, with Flink's default (ten times
// the ask timeout) when the option is unset, and leaves a user's own property alone.
func TestPekkoStartupArg(t *testing.T) {
	cases := []struct {
		name string
		conf map[string]string
		want string // the property's value; "" for none
	}{
		{"option set", map[string]string{"pekko.startup-timeout": "60 s", "pekko.ask.timeout": "30 s"}, "60000ms"},
		{"minutes", map[string]string{"pekko.startup-timeout": "2min"}, "120000ms"},
		{"bare number is milliseconds", map[string]string{"pekko.startup-timeout": "45000"}, "45000ms"},
		{"unset: ten times the ask timeout", map[string]string{"pekko.ask.timeout": "30 s"}, "300000ms"},
		{"unset, default ask timeout", nil, "100000ms"},
		{"invalid: none (Flink refuses it)", map[string]string{"pekko.startup-timeout": "60 parsecs"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := ""
			if tc.want != "" {
				want = "-Dpekko.remote.classic.startup-timeout=" + tc.want
			}
			if got := pekkoStartupArg(tc.conf); got != want {
				t.Errorf("pekkoStartupArg = %q, want %q", got, want)
			}
		})
	}
	t.Run("launcher default config", func(t *testing.T) {
		got := jvmArgs(nil, defaultConfig, "jobmanager", "/d/log/jm.log", "/d/conf/log4j.properties")
		if !slices.Contains(got, "-Dpekko.remote.classic.startup-timeout=60000ms") {
			t.Errorf("jobmanager JVM options lack the 60 s start-up timeout: %v", got)
		}
	})
	t.Run("user's own property kept", func(t *testing.T) {
		conf := map[string]string{"pekko.startup-timeout": "60 s",
			"env.java.opts.all": "-Dpekko.remote.classic.startup-timeout=5m"}
		got := jvmArgs(nil, conf, "taskmanager", "/d/log/tm.log", "/d/conf/log4j.properties")
		n := 0
		for _, f := range got {
			if strings.HasPrefix(f, "-Dpekko.remote.classic.startup-timeout=") {
				n++
			}
		}
		if n != 1 || !slices.Contains(got, "-Dpekko.remote.classic.startup-timeout=5m") {
			t.Errorf("want only the user's property, got %v", got)
		}
	})
}
