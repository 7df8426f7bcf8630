// Command flinktune right-sizes Apache Flink: memory, slots and parallelism.
package main

import (
	"os"

	"github.com/flinktune/flinktune/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
