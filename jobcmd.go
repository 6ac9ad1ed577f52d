package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/schedule"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/directory"
	"github.com/towerbot/towerbot/jobs"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/tower"
)

const jobUsage = `usage: towerbot job list [--config FILE]
       towerbot job run NAME [--config FILE] [--at RFC3339] [--force]
       towerbot job runs [--config FILE] [--limit N]

list: the jobs, their schedules (jobs.* in the config) and next firings.
run:  runs job NAME for the firing at --at (default: its latest scheduled
      firing, or now for a job with no schedule) — once: the same
      job for the same --at runs once however often, and from however many
      processes, it is asked for (a serve replica's schedule included),
      unless --force runs it again. Its posts are queued in the outbox for
      the running servers to send.
runs: the latest runs: job, scheduled time, attempt, replica, outcome, posts.

Jobs: daily-digest, weekly-ranking, overdue, temperature-reminder, quarantine-reminder.`

// runJob is `towerbot job list|run|runs`.
func runJob(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return jobWithEnv(ctx, args, os.Environ(), stdout, stderr)
}

// jobWithEnv is runJob with the environment passed in, for tests.
func jobWithEnv(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "run" && args[0] != "runs") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stderr, jobUsage)
			return 0
		}
		fmt.Fprintln(stderr, jobUsage)
		return 2
	}
	verb := args[0]
	var (
		at    string
		force bool
		limit int
	)
	define := func(fs *flag.FlagSet) {
		switch verb {
		case "run":
			fs.StringVar(&at, "at", "", "the firing's scheduled `TIME`, RFC 3339 (2020-02-24T20:00:00+08:00); default the job's latest scheduled firing")
			fs.BoolVar(&force, "force", false, "run again even if this firing ran")
		case "runs":
			fs.IntVar(&limit, "limit", 20, "how many runs to list")
		}
	}
	check := noArgs
	if verb == "run" {
		check = func(a []string) error {
			if len(a) != 1 {
				return errors.New("name one job")
			}
			return nil
		}
	}
	flags := args[1:]
	if verb == "run" && len(flags) > 1 && !strings.HasPrefix(flags[0], "-") {
		// `job run NAME --at …`: the name first, as operators write it.
		flags = append(append([]string(nil), flags[1:]...), flags[0])
	}
	configPath, rest, code, ok := parseConfigFlags("job "+verb, jobUsage, flags, stderr, check, define)
	if !ok {
		return code
	}
	cfg, ok := loadConfig("job", configPath, environ, stderr)
	if !ok {
		return 1
	}
	logger := newLogger(cfg.Log, stderr)
	fail := func(err error) int {
		fmt.Fprintf(stderr, "towerbot job %s: %v\n", verb, err)
		return 1
	}
	if verb == "runs" && limit <= 0 {
		fmt.Fprintf(stderr, "towerbot job runs: --limit %d is not positive\n", limit)
		return 2
	}
	var when time.Time
	if verb == "run" && at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			fmt.Fprintf(stderr, "towerbot job run: --at %q is not an RFC 3339 time (like 2020-02-24T20:00:00+08:00)\n", at)
			return 2
		}
		when = t
	}

	db, _, err := openStore(ctx, cfg.DB)
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	if verb == "runs" {
		return listRuns(ctx, db, limit, cfg, stdout, fail)
	}
	sched, closeAll, err := newScheduler(ctx, cfg, db, logger)
	if err != nil {
		return fail(err)
	}
	defer closeAll()
	loc, _ := cfg.Location()
	switch verb {
	case "list":
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "JOB\tSCHEDULE\tNEXT")
		for _, in := range sched.List() {
			next := "-"
			if !in.Next.IsZero() {
				next = in.Next.In(loc).Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", in.Name, in.Schedule, next)
		}
		w.Flush()
		return 0
	}
	name := rest[0]
	if when.IsZero() {
		if when, err = sched.Latest(name, time.Now()); err != nil && !errors.Is(err, schedule.ErrUnknownJob) {
			return fail(err)
		}
	}
	res, err := sched.Run(ctx, name, when, force)
	if errors.Is(err, schedule.ErrUnknownJob) {
		fmt.Fprintf(stderr, "towerbot job run: unknown job %q (towerbot job list names them)\n", name)
		return 2
	}
	if err != nil {
		return fail(err)
	}
	firing := when.In(loc).Truncate(time.Second).Format(time.RFC3339)
	switch {
	case !res.Ran && res.Skipped == "running":
		fmt.Fprintf(stdout, "%s at %s: running elsewhere now; not run\n", name, firing)
	case !res.Ran:
		fmt.Fprintf(stdout, "%s at %s: ran already; not run again (--force runs it again)\n", name, firing)
	case res.Err != nil:
		fmt.Fprintf(stdout, "%s at %s: attempt %d failed: %v\n", name, firing, res.Run.Attempt, res.Err)
		return 1
	default:
		fmt.Fprintf(stdout, "%s at %s: attempt %d ran, %d posts queued\n", name, firing, res.Run.Attempt, res.Posts)
	}
	return 0
}

// listRuns prints the latest job runs.
func listRuns(ctx context.Context, db *store.DB, limit int, cfg config.Config, stdout io.Writer, fail func(error) int) int {
	runs, err := db.RecentJobRuns(ctx, limit)
	if err != nil {
		return fail(err)
	}
	loc, _ := cfg.Location()
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "JOB\tSCHEDULED\tATTEMPT\tREPLICA\tOUTCOME\tPOSTS\tERROR")
	for _, r := range runs {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%d\t%s\n", r.Job, r.ScheduledAt.In(loc).Format(time.RFC3339),
			r.Attempt, r.Replica, r.Outcome, r.Posts, r.Error)
	}
	w.Flush()
	return 0
}

// newScheduler wires what the jobs run over — the directory in memory,
// kv, the domain posting into the store's outbox — and the scheduler with
// every job on its configured schedule. closeAll releases them.
func newScheduler(ctx context.Context, cfg config.Config, db *store.DB, logger *slog.Logger) (*schedule.Scheduler, func(), error) {
	dir, err := directory.New(ctx, db, directory.Config{Logger: logger.With("part", "directory")})
	if err != nil {
		return nil, nil, err
	}
	kvs, err := kv.Open(cfg.Redis.Addr, cfg.Redis.Password.Reveal(), cfg.Redis.DB, cfg.Redis.Prefix)
	if err != nil {
		dir.Close()
		return nil, nil, fmt.Errorf("kv: %w", err)
	}
	closeAll := func() { kvs.Close(); dir.Close() }
	domain, err := tower.New(cfg.Rules, dir, bot.NewStoreOutbox(db), logger.With("part", "tower"))
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	sched, err := newJobScheduler(cfg, db, kvs, domain, logger)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return sched, closeAll, nil
}

// newJobScheduler is the scheduler of every job over domain, recording
// runs in db and locking firings in kvs.
func newJobScheduler(cfg config.Config, db *store.DB, kvs kv.Store, domain *tower.Tower, logger *slog.Logger) (*schedule.Scheduler, error) {
	loc, err := cfg.Location()
	if err != nil {
		return nil, err
	}
	replica := cfg.Replica
	if replica == "" {
		replica, _ = os.Hostname()
	}
	sched, err := schedule.New(schedule.Config{Location: loc, Replica: replica, Timeout: cfg.Jobs.Timeout,
		CatchUp: cfg.Jobs.CatchUp, Logger: logger.With("part", "scheduler")}, db, kvs)
	if err != nil {
		return nil, err
	}
	if err := jobs.Register(sched, domain, cfg.Jobs); err != nil {
		return nil, err
	}
	return sched, nil
}
