package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flinktune/flinktune/store"
	"github.com/spf13/cobra"
)

// defaultDataDir is where flinktune run keeps its state unless --data-dir says otherwise.
func defaultDataDir() string {
	if d := os.Getenv("FLINKTUNE_DATA_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "flinktune")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "flinktune")
	}
	return ".flinktune"
}

func newEventsCmd() *cobra.Command {
	var (
		dataDir, job, server, output string
		since                        time.Duration
		limit                        int
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show scaling decisions, recommendations and errors recorded by flinktune run",
		Long: `Show the events flinktune run recorded: scaling reports, in-place rescales,
recommendations (dry-run or job.autoscaler.scaling.enabled: false), memory
recommendations, and errors such as failed metric collections.

Events are read from the data directory. While flinktune run holds it, read them
from the running instance instead with --server (its --listen address).`,
		Example: `  flinktune events
  flinktune events --job 4f1c --since 2h
  flinktune events --server http://127.0.0.1:9249 --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "table", "json", "yaml"); err != nil {
				return err
			}
			if since < 0 {
				return usagef("--since %v: want a positive duration such as 30m or 24h", since)
			}
			if limit < 0 {
				return usagef("--limit %d: want a number of events, 0 for all", limit)
			}
			q := store.EventQuery{JobID: job, Limit: limit}
			if since > 0 {
				q.Since = time.Now().Add(-since)
			}
			var events []store.Event
			var err error
			if server != "" {
				events, err = fetchEvents(server, q)
			} else {
				events, err = readEvents(dataDir, q)
			}
			if err != nil {
				return err
			}
			return printEvents(cmd.OutOrStdout(), events, output)
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "flinktune run's data directory")
	cmd.Flags().StringVar(&job, "job", "", "only events of jobs whose id contains this")
	cmd.Flags().StringVar(&server, "server", "", "read from a running flinktune run at this URL instead of the data directory")
	cmd.Flags().DurationVar(&since, "since", 0, "only events newer than this (e.g. 30m, 24h)")
	cmd.Flags().IntVar(&limit, "limit", 0, "only the newest N events")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table, json or yaml (a list of events)")
	return cmd
}

func readEvents(dir string, q store.EventQuery) ([]store.Event, error) {
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil {
		return nil, fmt.Errorf("no flinktune data in %s (run flinktune run first, or pass --data-dir)", dir)
	}
	st, err := store.Open(dir)
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w; while flinktune run is running, use --server http://<its --listen address>", err)
	}
	if err != nil {
		return nil, err
	}
	defer st.Close()
	evs, skipped, err := st.EventsChecked(q)
	if len(skipped) > 0 {
		fmt.Fprintf(os.Stderr, "flinktune: %d unreadable events skipped (flinktune store check --data-dir %s)\n", len(skipped), dir)
	}
	return evs, err
}

func fetchEvents(server string, q store.EventQuery) ([]store.Event, error) {
	u, err := url.Parse(strings.TrimRight(server, "/") + "/api/v1/events")
	if err != nil {
		return nil, usagef("--server %q: %v", server, err)
	}
	v := url.Values{}
	if q.JobID != "" {
		v.Set("job", q.JobID)
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if q.Limit > 0 {
		v.Set("limit", fmt.Sprint(q.Limit))
	}
	u.RawQuery = v.Encode()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(u.String())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	var events []store.Event
	if err := json.Unmarshal(body, &events); err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	return events, nil
}

func printEvents(w io.Writer, events []store.Event, output string) error {
	if output != "table" {
		if events == nil {
			events = []store.Event{}
		}
		return writeDoc(w, output, events)
	}
	if len(events) == 0 {
		fmt.Fprintln(w, "no events")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tJOB\tTYPE\tREASON\tMESSAGE")
	for _, e := range events {
		job := e.JobID
		if len(job) > 12 {
			job = job[:12]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format("2006-01-02 15:04:05"), job, e.Type, e.Reason, oneLine(e.Message))
	}
	return tw.Flush()
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 400 {
		s = s[:397] + "..."
	}
	return s
}
