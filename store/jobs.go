package store

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// JobClaim asks for one firing of a scheduled job (ClaimJobRun).
type JobClaim struct {
	Job         string
	ScheduledAt time.Time
	Replica     string // who runs it, for the record
	// Force runs the firing again even when it ran: a new attempt,
	// recorded beside the earlier ones.
	Force bool
	// StaleAfter lets a run that is still "running" this long after it
	// started be claimed again: its process died mid-run (0: never).
	StaleAfter time.Duration
}

// ClaimJobRun claims one firing of a scheduled job and returns its run
// record, or nil when the firing is not this caller's to run: it ran, or
// runs now, here or on another replica. The unique key (job, scheduled
// time, attempt) decides, so of any number of claims at once exactly one
// wins, whatever process makes them.
//
// A firing whose run failed, or whose run is stale (c.StaleAfter), is
// claimed again as the same attempt, with one conditional update: the
// retry posts under the same origins, so whatever the failed run queued is
// not queued twice. A forced claim takes the next attempt, unless the
// latest is still running (and not stale).
func (db *DB) ClaimJobRun(ctx context.Context, c JobClaim) (*JobRun, error) {
	if c.Job == "" || utf8.RuneCountInString(c.Job) > 64 {
		return nil, fmt.Errorf("store: claim job run: job name %q must be 1 to 64 characters", c.Job)
	}
	if utf8.RuneCountInString(c.Replica) > 64 {
		return nil, fmt.Errorf("store: claim job run: replica name %q is longer than 64 characters", c.Replica)
	}
	at := storedTime(c.ScheduledAt)
	for try := 0; try < 8; try++ {
		var last JobRun
		err := db.q(ctx).Where("job = ? AND scheduled_at = ?", c.Job, at).Order("attempt DESC").Limit(1).Find(&last).Error
		if err != nil {
			return nil, fmt.Errorf("store: claim job run %s: %w", c.Job, err)
		}
		now := storedTime(db.Now())
		stale := last.Outcome == JobRunning && c.StaleAfter > 0 && last.StartedAt.Before(now.Add(-c.StaleAfter))
		if last.ID != 0 && c.Force && last.Outcome == JobRunning && !stale {
			return nil, nil // a forced run never runs beside one still running
		}
		if last.ID != 0 && !c.Force {
			if last.Outcome != JobFailed && !stale {
				return nil, nil
			}
			res := db.q(ctx).Model(&JobRun{}).
				Where("id = ? AND outcome = ? AND started_at = ?", last.ID, last.Outcome, last.StartedAt).
				Updates(map[string]any{"replica": c.Replica, "outcome": JobRunning, "started_at": now,
					"finished_at": nil, "error": "", "posts": 0})
			if res.Error != nil {
				return nil, fmt.Errorf("store: claim job run %s: %w", c.Job, res.Error)
			}
			if res.RowsAffected == 0 {
				return nil, nil // another caller took it back first
			}
			last.Replica, last.Outcome, last.StartedAt, last.FinishedAt, last.Error, last.Posts = c.Replica, JobRunning, now, nil, "", 0
			return &last, nil
		}
		run := JobRun{Job: c.Job, ScheduledAt: at, Attempt: last.Attempt + 1, Replica: c.Replica,
			Outcome: JobRunning, StartedAt: now}
		err = db.q(ctx).Create(&run).Error
		switch {
		case err == nil:
			return &run, nil
		case !isDuplicate(err):
			return nil, fmt.Errorf("store: claim job run %s at %s: %w", c.Job, at.Format(time.RFC3339), err)
		case !c.Force:
			return nil, nil // the firing's first run is someone else's
		}
		// A forced claim lost the attempt number to a rival: take the next.
	}
	return nil, fmt.Errorf("store: claim job run %s at %s: %w", c.Job, at.Format(time.RFC3339), ErrConflict)
}

// StartJobRun claims one firing of a scheduled job: it records (job,
// scheduled) and reports started = true, or false when that firing was
// already claimed — by this replica or another — so each firing runs once
// whoever runs it. (ClaimJobRun with only a job and a time.)
func (db *DB) StartJobRun(ctx context.Context, job string, scheduled time.Time) (started bool, err error) {
	run, err := db.ClaimJobRun(ctx, JobClaim{Job: job, ScheduledAt: scheduled})
	return run != nil, err
}

// FinishJob records how run ended: ok with the posts it queued, or
// failed with runErr (kept, shortened, for the record).
func (db *DB) FinishJob(ctx context.Context, run *JobRun, posts int, runErr error) error {
	if run == nil || run.ID == 0 {
		return errors.New("store: finish job run: no run")
	}
	outcome, text := JobOK, ""
	if runErr != nil {
		outcome, text = JobFailed, truncateRunes(runErr.Error(), 512)
		if text == "" {
			text = "error"
		}
	}
	now := storedTime(db.Now())
	res := db.q(ctx).Model(&JobRun{}).Where("id = ?", run.ID).
		Updates(map[string]any{"finished_at": now, "error": text, "outcome": outcome, "posts": posts})
	if res.Error != nil {
		return fmt.Errorf("store: finish job run %s: %w", run.Job, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: job run %d: %w", run.ID, ErrNotFound)
	}
	run.FinishedAt, run.Error, run.Outcome, run.Posts = &now, text, outcome, posts
	return nil
}

// FinishJobRun records that the firing (job, scheduled) ended, with runErr
// (nil for success) kept for the record; every attempt of the firing still
// running is finished.
func (db *DB) FinishJobRun(ctx context.Context, job string, scheduled time.Time, runErr error) error {
	at := storedTime(scheduled)
	var runs []JobRun
	if err := db.q(ctx).Where("job = ? AND scheduled_at = ?", job, at).Find(&runs).Error; err != nil {
		return fmt.Errorf("store: finish job run %s: %w", job, err)
	}
	if len(runs) == 0 {
		return fmt.Errorf("store: job run %s at %s: %w", job, at.Format(time.RFC3339), ErrNotFound)
	}
	for i := range runs {
		if runs[i].FinishedAt != nil {
			continue
		}
		if err := db.FinishJob(ctx, &runs[i], runs[i].Posts, runErr); err != nil {
			return err
		}
	}
	return nil
}

// RecentJobRuns returns the latest limit job runs, newest first (by
// scheduled time, then attempt).
func (db *DB) RecentJobRuns(ctx context.Context, limit int) ([]JobRun, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("store: recent job runs: limit %d is not positive", limit)
	}
	var out []JobRun
	err := db.q(ctx).Order("scheduled_at DESC, job, attempt DESC").Limit(limit).Find(&out).Error
	return out, wrapErr("store: recent job runs", err)
}

// LastJobRun returns the newest recorded firing of job scheduled at or
// before t (nil when none): where catching up starts from.
func (db *DB) LastJobRun(ctx context.Context, job string, t time.Time) (*JobRun, error) {
	var out []JobRun
	err := db.q(ctx).Where("job = ? AND scheduled_at <= ?", job, storedTime(t)).
		Order("scheduled_at DESC, attempt DESC").Limit(1).Find(&out).Error
	if err != nil || len(out) == 0 {
		return nil, wrapErr("store: last job run", err)
	}
	return &out[0], nil
}

// JobOrigin is the origin of a post a scheduled job makes at one firing
// (firing: the firing's key, see schedule.Firing.Key), refined by what it
// is about (a part number, a node): a firing run again posts nothing
// twice.
func JobOrigin(job, firing string, what ...string) Origin {
	s := "job:" + job + ":" + firing
	for _, w := range what {
		s += ":" + w
	}
	return Origin(s)
}

// NotQueued returns the items whose (origin, group) has no post in the
// outbox yet, in their order: what a job run again would add, so that it
// counts only the posts it really queues.
func (db *DB) NotQueued(ctx context.Context, items []OutboxItem) ([]OutboxItem, error) {
	seen := map[Origin]bool{}
	var origins []Origin
	for _, it := range items {
		if !seen[it.Origin] {
			seen[it.Origin] = true
			origins = append(origins, it.Origin)
		}
	}
	type key struct {
		origin Origin
		group  int64
	}
	queued := map[key]bool{}
	for from := 0; from < len(origins); from += chunk {
		var rows []struct {
			Origin  Origin
			GroupID int64
		}
		err := db.q(ctx).Model(&OutboxItem{}).Select("origin, group_id").
			Where("origin IN ?", origins[from:min(from+chunk, len(origins))]).Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("store: queued posts: %w", err)
		}
		for _, r := range rows {
			queued[key{r.Origin, r.GroupID}] = true
		}
	}
	var out []OutboxItem
	for _, it := range items {
		if !queued[key{it.Origin, it.GroupID}] {
			out = append(out, it)
		}
	}
	return out, nil
}
