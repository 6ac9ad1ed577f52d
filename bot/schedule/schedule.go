// Package schedule runs towerbot's scheduled jobs: each job on its cron
// schedule (robfig/cron's standard five-field expressions, in the civil
// time zone), each firing once however many replicas run, and the firings
// a stopped process missed caught up when it starts.
//
// A firing is a job and its scheduled time. Running one takes, in order, a
// kv lock keyed by both (so replicas firing together do not even start
// twice) and the firing's run record in the database (store.ClaimJobRun:
// unique per job, time and attempt, the backstop when the kv was lost or
// is per process); the run's outcome and the posts it queued are recorded
// when it ends. A job posts only through the outbox, with origins keyed by
// the firing (Firing.Key), so even a run repeated after a failure posts
// nothing twice. `towerbot job run` goes through the same Run.
//
// The loop is this package's own rather than cron.Cron's, so that each
// run knows the time it was scheduled for — the key of everything above —
// and not merely when its goroutine woke.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
)

// Firing is one run of a job: the time it was scheduled for (in the civil
// zone) and the attempt (1, or more for a forced re-run).
type Firing struct {
	Job     string
	At      time.Time
	Attempt int
}

// Key names the firing in outbox origins: the scheduled time in Unix
// seconds, and the attempt when it is a forced re-run, so a re-run of a
// failed firing posts under the same origins (nothing twice) and a forced
// one posts anew.
func (f Firing) Key() string {
	k := strconv.FormatInt(f.At.Unix(), 10)
	if f.Attempt > 1 {
		k += "r" + strconv.Itoa(f.Attempt)
	}
	return k
}

// Job is one scheduled job: a name (a contract: the config, `towerbot job`
// and the run records use it) and what a firing does. Run returns how many
// posts it handed to the outbox.
type Job struct {
	Name string
	Run  func(ctx context.Context, f Firing) (posts int, err error)
}

// Runs is where firings are claimed and recorded; *store.DB is one.
type Runs interface {
	ClaimJobRun(ctx context.Context, c store.JobClaim) (*store.JobRun, error)
	FinishJob(ctx context.Context, run *store.JobRun, posts int, runErr error) error
}

// Config sets up a Scheduler.
type Config struct {
	Location *time.Location // the civil zone of schedules and firings (required)
	Replica  string         // this process, in the run records
	// Timeout bounds one run; it is also the kv lock's life and how long a
	// run may stay "running" before it counts as dead (default 10m).
	Timeout time.Duration
	// CatchUp is how far back Start looks for missed firings (0: none).
	CatchUp time.Duration
	Now     func() time.Time // default time.Now
	Logger  *slog.Logger
}

// Scheduler runs jobs on their schedules. Add every job, then Start.
type Scheduler struct {
	cfg  Config
	runs Runs
	kv   kv.Store
	log  *slog.Logger

	mu   sync.Mutex
	jobs map[string]*entry
	wg   sync.WaitGroup
}

type entry struct {
	job   Job
	spec  string        // as configured
	sched cron.Schedule // nil: off
}

// New returns a scheduler recording its runs in runs and locking firings
// in kvs.
func New(cfg Config, runs Runs, kvs kv.Store) (*Scheduler, error) {
	if cfg.Location == nil || runs == nil || kvs == nil {
		return nil, errors.New("schedule: New needs a location, run records and a kv store")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{cfg: cfg, runs: runs, kv: kvs, log: cfg.Logger, jobs: map[string]*entry{}}, nil
}

// Add registers job on spec, a standard cron expression read in the
// scheduler's zone, or "-" for a job run only by hand.
func (s *Scheduler) Add(job Job, spec string) error {
	if job.Name == "" || job.Run == nil {
		return errors.New("schedule: a job needs a name and a Run")
	}
	var sched cron.Schedule
	if spec != "-" {
		var err error
		if sched, err = cron.ParseStandard(spec); err != nil {
			return fmt.Errorf("schedule: job %s: %q: %w", job.Name, spec, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.jobs[job.Name]; dup {
		return fmt.Errorf("schedule: job %s added twice", job.Name)
	}
	s.jobs[job.Name] = &entry{job: job, spec: spec, sched: sched}
	return nil
}

// Info describes a job for `towerbot job list`.
type Info struct {
	Name     string
	Schedule string    // as configured ("-": by hand only)
	Next     time.Time // the next firing after now (zero when off)
}

// List returns the jobs by name, with their next firing.
func (s *Scheduler) List() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now().In(s.cfg.Location)
	var out []Info
	for _, e := range s.jobs {
		in := Info{Name: e.job.Name, Schedule: e.spec}
		if e.sched != nil {
			in.Next = e.sched.Next(now)
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Latest returns the latest firing of job name at or before now (within a
// year back), or now itself, to the second, when the job has no schedule
// or never fired in that time: what `towerbot job run` without --at runs,
// so that it is the very firing the schedule ran or will catch up.
func (s *Scheduler) Latest(name string, now time.Time) (time.Time, error) {
	s.mu.Lock()
	e, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return time.Time{}, fmt.Errorf("%w %q", ErrUnknownJob, name)
	}
	now = now.In(s.cfg.Location).Truncate(time.Second)
	if e.sched == nil {
		return now, nil
	}
	// Step back until a firing falls at or before now.
	for back := time.Hour; back <= 366*24*time.Hour; back *= 2 {
		t := e.sched.Next(now.Add(-back))
		if t.After(now) {
			continue
		}
		for next := e.sched.Next(t); !next.After(now); next = e.sched.Next(next) {
			t = next
		}
		return t, nil
	}
	return now, nil
}

// ErrUnknownJob is returned for a job name nobody added.
var ErrUnknownJob = errors.New("schedule: unknown job")

// Result is what Run did with a firing.
type Result struct {
	Ran     bool          // this call ran it
	Skipped string        // why not: "running" (held elsewhere) or "done" (ran already)
	Run     *store.JobRun // the run record, when it ran
	Posts   int
	Err     error // the job's own failure, recorded in Run
}

// Run runs the firing of job name scheduled at at, unless it runs or ran
// already — here or on another replica, by the schedule or by hand — and
// then reports why not. force runs it again as a new attempt (after one
// that finished; never beside one still running). The error is for a
// failure to claim or record the firing; the job's own failure is in
// Result.Err (and in the record).
func (s *Scheduler) Run(ctx context.Context, name string, at time.Time, force bool) (Result, error) {
	s.mu.Lock()
	e, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return Result{}, fmt.Errorf("%w %q", ErrUnknownJob, name)
	}
	at = at.In(s.cfg.Location).Truncate(time.Second)
	lockKey := "job:" + name + ":" + at.UTC().Format(time.RFC3339)
	release, got, err := s.kv.Lock(ctx, lockKey, s.cfg.Timeout)
	if err != nil {
		return Result{}, fmt.Errorf("schedule: lock %s: %w", lockKey, err)
	}
	if !got {
		return Result{Skipped: "running"}, nil
	}
	defer func() {
		if err := release(context.WithoutCancel(ctx)); err != nil {
			s.log.Warn("job outlived its lock", "job", name, "at", at, "err", err)
		}
	}()
	run, err := s.runs.ClaimJobRun(ctx, store.JobClaim{Job: name, ScheduledAt: at, Replica: s.cfg.Replica,
		Force: force, StaleAfter: s.cfg.Timeout})
	if err != nil {
		return Result{}, err
	}
	if run == nil {
		return Result{Skipped: "done"}, nil
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	f := Firing{Job: name, At: at, Attempt: run.Attempt}
	posts, runErr := safeRun(rctx, e.job, f)
	if runErr != nil {
		posts = 0 // a failed run's unit of work queued nothing
	}
	if err := s.runs.FinishJob(context.WithoutCancel(ctx), run, posts, runErr); err != nil {
		return Result{}, err
	}
	s.log.Info("job ran", "job", name, "at", at, "attempt", run.Attempt, "posts", posts, "err", runErr)
	return Result{Ran: true, Run: run, Posts: posts, Err: runErr}, nil
}

// safeRun runs a job, turning a panic into its error: one job's bug must
// not stop the scheduler.
func safeRun(ctx context.Context, j Job, f Firing) (posts int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("job %s panicked: %v", j.Name, r)
		}
	}()
	return j.Run(ctx, f)
}

// Missed returns each scheduled job's latest firing within CatchUp before
// now (inclusive), by job name: what a process starting now may have
// missed. Run skips those that ran.
func (s *Scheduler) Missed(now time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	if s.cfg.CatchUp <= 0 {
		return out
	}
	now = now.In(s.cfg.Location)
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, e := range s.jobs {
		if e.sched == nil {
			continue
		}
		var last time.Time
		for t := e.sched.Next(now.Add(-s.cfg.CatchUp - time.Second)); !t.After(now); t = e.sched.Next(t) {
			last = t
		}
		if !last.IsZero() {
			out[name] = last
		}
	}
	return out
}

// CatchUp runs the firings Missed finds, one job after another.
func (s *Scheduler) CatchUp(ctx context.Context) {
	missed := s.Missed(s.cfg.Now())
	names := make([]string, 0, len(missed))
	for n := range missed {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		res, err := s.Run(ctx, n, missed[n], false)
		switch {
		case err != nil:
			s.log.Error("catching up a job failed", "job", n, "at", missed[n], "err", err)
		case res.Ran:
			s.log.Info("caught up a missed firing", "job", n, "at", missed[n])
		}
	}
}

// Start catches up, then runs every scheduled job at its firings until ctx
// ends; Wait waits for the loops to stop.
func (s *Scheduler) Start(ctx context.Context) {
	s.mu.Lock()
	var es []*entry
	for _, e := range s.jobs {
		if e.sched != nil {
			es = append(es, e)
		}
	}
	s.mu.Unlock()
	s.wg.Add(1 + len(es))
	go func() { defer s.wg.Done(); s.CatchUp(ctx) }()
	for _, e := range es {
		go func() { defer s.wg.Done(); s.loop(ctx, e) }()
	}
}

// Wait waits until the loops Start began have stopped (ctx ended) and a
// run under way has finished.
func (s *Scheduler) Wait() { s.wg.Wait() }

// loop fires one job: it sleeps until the next firing after now, runs
// it, and again. A run longer than the gap to the next firing makes the
// loop skip the firings it overran (the next is computed after the run).
func (s *Scheduler) loop(ctx context.Context, e *entry) {
	for {
		next := e.sched.Next(s.cfg.Now().In(s.cfg.Location))
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		// A timer may wake a little early: never run a firing before its time.
		if d := next.Sub(s.cfg.Now()); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		if _, err := s.Run(ctx, e.job.Name, next, false); err != nil && ctx.Err() == nil {
			s.log.Error("job firing failed", "job", e.job.Name, "at", next, "err", err)
		}
	}
}
