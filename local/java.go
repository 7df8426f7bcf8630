package local

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
)

// Java17Opts is the list Flink's distribution passes to every JVM on Java 17
// (env.java.default-opts.all in flink-dist's config.yaml); without it Flink fails on
// reflective access. A launcher without flink-dist must add the same list.
var Java17Opts = []string{
	"--add-exports=java.base/sun.net.util=ALL-UNNAMED",
	"--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
	"--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED",
	"--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
	"--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED",
	"--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED",
	"--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED",
	"--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
	"--add-opens=java.base/java.lang=ALL-UNNAMED",
	"--add-opens=java.base/java.net=ALL-UNNAMED",
	"--add-opens=java.base/java.io=ALL-UNNAMED",
	"--add-opens=java.base/java.nio=ALL-UNNAMED",
	"--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
	"--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
	"--add-opens=java.base/java.text=ALL-UNNAMED",
	"--add-opens=java.base/java.time=ALL-UNNAMED",
	"--add-opens=java.base/java.util=ALL-UNNAMED",
	"--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
	"--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
	"--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED",
}

// JavaBinary is the java executable: $JAVA_HOME/bin/java when set, else java on $PATH.
func JavaBinary() string {
	if h := os.Getenv("JAVA_HOME"); h != "" {
		if p := filepath.Join(h, "bin", "java"); fileExists(p) {
			return p
		}
	}
	return "java"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// JavaCommand builds a JVM command on the dist's classpath. The JVM runs in its own process
// group and receives SIGKILL when the thread that started it dies (Pdeathsig), so a killed
// `go test` or flinktune leaves no JVM behind.
func (d *Dist) JavaCommand(ctx context.Context, jvmArgs []string, mainClass string, args ...string) *exec.Cmd {
	argv := append([]string{}, Java17Opts...)
	argv = append(argv, jvmArgs...)
	argv = append(argv, "-cp", d.ClasspathString(), mainClass)
	argv = append(argv, args...)
	cmd := exec.CommandContext(ctx, JavaBinary(), argv...)
	cmd.SysProcAttr = childAttr()
	return cmd
}
