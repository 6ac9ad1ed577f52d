package main

import (
	"context"
	"fmt"
	"path/filepath"
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
			if code, out, _ := runWithEnv(t, jobWithEnv, environ, "run", "daily-digest", "--at", at, "--force"); code != 0 ||
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

// scheduleOff is the environment that keeps a test's `serve` from running
// scheduled jobs by the wall clock (and catching up at start), whose posts
// would land in the groups a test reads at whatever hour it runs.
func scheduleOff() []string {
	return []string{"TOWERBOT_JOBS_CATCH_UP=0s", "TOWERBOT_JOBS_DAILY_DIGEST_SCHEDULE=-", "TOWERBOT_JOBS_WEEKLY_RANKING_SCHEDULE=-",
		"TOWERBOT_JOBS_OVERDUE_SCHEDULE=-", "TOWERBOT_JOBS_TEMPERATURE_REMINDER_SCHEDULE=-", "TOWERBOT_JOBS_QUARANTINE_REMINDER_SCHEDULE=-"}
}

// serve runs the schedule: a job on an every-second schedule is run and
// recorded while it serves, and `towerbot job runs` from another process
// lists it.
func TestServeRunsTheSchedule(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := fmt.Sprintf("data_dir: %s\ndemo: true\nreplica: serve-1\nhttp:\n  addr: 127.0.0.1:0\nlog:\n  level: warn\n", dataDir)
	startServe(t, cfg, []string{"TOWERBOT_JOBS_OVERDUE_SCHEDULE=@every 1s"})
	env := []string{"TOWERBOT_DATA_DIR=" + dataDir, "TOWERBOT_DEMO=false"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out, errOut := runWithEnv(t, jobWithEnv, env, "runs")
		if code != 0 {
			t.Fatalf("job runs exited %d: %s", code, errOut)
		}
		if strings.Contains(out, "overdue") && strings.Contains(out, "serve-1") && strings.Contains(out, " ok ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no overdue run recorded within 30 s:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
