// Package scenarios carries the example simulator scenarios inside the binary, so
// `flinktune sim --scenario kafka-diurnal` works without the repository. The format is
// described in FORMAT.md next to this file.
package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/flinktune/flinktune/scenario"
)

//go:embed *.yaml
var files embed.FS

// Names lists the built-in scenarios, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(out)
	return out
}

// Read returns the YAML of the built-in scenario name.
func Read(name string) ([]byte, error) {
	data, err := files.ReadFile(strings.TrimSuffix(name, ".yaml") + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no built-in scenario %q (built-in: %s)", name, strings.Join(Names(), ", "))
	}
	return data, nil
}

// Open parses the built-in scenario name.
func Open(name string) (*scenario.Scenario, error) {
	data, err := Read(name)
	if err != nil {
		return nil, err
	}
	return scenario.Parse(data, strings.TrimSuffix(name, ".yaml")+".yaml")
}

// Load reads a scenario file if arg names one, else the built-in scenario of that name.
func Load(arg string) (*scenario.Scenario, error) {
	if _, err := os.Stat(arg); err == nil {
		return scenario.Load(arg)
	}
	if slices.Contains(Names(), strings.TrimSuffix(arg, ".yaml")) {
		return Open(arg)
	}
	return nil, fmt.Errorf("scenario %q: no such file and no built-in scenario of that name (built-in: %s)", arg, strings.Join(Names(), ", "))
}
