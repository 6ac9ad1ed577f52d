package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
)

// `towerbot job`: over a seeded village, the daily digest run twice at
// once (two processes' worth: each its own kv) posts once to every group
// of tiers 1–3; the run is listed with its posts; --force posts again.
func TestJobCommand(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			environ, dsn := testDatabase(t, driver)
			environ = append(environ, "TOWERBOT_DEMO=false", "TOWERBOT_LOG_LEVEL=warn")
			if code, out, errOut := runWithEnv(t, seedWithEnv, environ, "--scale", "village"); code != 0 {
				t.Fatalf("seed exited %d\n%s\n%s", code, out, errOut)
			}
			code, out, _ := runWithEnv(t, jobWithEnv, environ, "list")
			for _, name := range []string{"0 20 * * *", "weekly-ranking", "overdue", "temperature-reminder", "quarantine-reminder"} {
				if code != 0 || !strings.Contains(out, name) {
					t.Fatalf("job list (exit %d) lacks %q:\n%s", code, name, out)
				}
			}
			at := time.Now().Truncate(time.Second).Format(time.RFC3339)
			var wg sync.WaitGroup
			outs := make([]string, 2)
			for i := range outs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					code, out, errOut := runWithEnv(t, jobWithEnv, environ, "run", "--at", at, "daily-digest")
					if code != 0 {
						t.Errorf("job run exited %d: %s %s", code, out, errOut)
					}
					outs[i] = out
				}()
			}
			wg.Wait()
			all := strings.Join(outs, "")
			if strings.Count(all, "attempt 1 ran, 12 posts queued") != 1 || strings.Count(all, "not run") != 1 {
				t.Fatalf("two runs at once:\n%s", all)
			}
			db, err := store.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			digests := func() int {
				ctx := context.Background()
				groups, err := db.Groups(ctx, "wecom")
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, g := range groups {
					items, err := db.OutboxForGroup(ctx, g.ID, 0)
					if err != nil {
						t.Fatal(err)
					}
					for _, it := range items {
						if strings.HasPrefix(string(it.Origin), "job:daily-digest:") {
							n++
						}
					}
				}
				return n
			}
			if n := digests(); n != 12 {
				t.Fatalf("%d digests queued, want one per group of tiers 1-3 (12)", n)
			}
			_, out, _ = runWithEnv(t, jobWithEnv, environ, "runs")
			if !strings.Contains(out, "daily-digest") || !strings.Contains(out, " ok ") || !strings.Contains(out, " 12 ") {
				t.Fatalf("job runs:\n%s", out)
			}
			if code, out, _ := runWithEnv(t, jobWithEnv, environ, "run", "--at", at, "--force", "daily-digest"); code != 0 ||
				!strings.Contains(out, "attempt 2 ran, 12 posts queued") {
				t.Fatalf("forced run (exit %d): %s", code, out)
			}
			if n := digests(); n != 24 {
				t.Fatalf("after --force %d digests queued, want 24", n)
			}
			if code, _, errOut := runWithEnv(t, jobWithEnv, environ, "run", "digest"); code != 2 || !strings.Contains(errOut, "unknown job") {
				t.Fatalf("unknown job: exit %d %s", code, errOut)
			}
			if code, _, _ := runWithEnv(t, jobWithEnv, environ, "run", "--at", "tonight", "overdue"); code != 2 {
				t.Fatalf("bad --at: exit %d", code)
			}
		})
	}
}
