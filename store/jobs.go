package store

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"
)

// StartJobRun claims one firing of a scheduled job: it records (job,
// scheduled) and reports started = true, or false when that firing was
// already claimed — by this replica or another — so each firing runs once
// whoever runs it.
func (db *DB) StartJobRun(ctx context.Context, job string, scheduled time.Time) (started bool, err error) {
	if job == "" || utf8.RuneCountInString(job) > 64 {
		return false, fmt.Errorf("store: start job run: job name %q must be 1 to 64 characters", job)
	}
	run := JobRun{Job: job, ScheduledAt: storedTime(scheduled), StartedAt: storedTime(db.Now())}
	err = db.q(ctx).Create(&run).Error
	switch {
	case err == nil:
		return true, nil
	case isDuplicate(err):
		return false, nil
	default:
		return false, fmt.Errorf("store: start job run %s at %s: %w", job, run.ScheduledAt.Format(time.RFC3339), err)
	}
}

// FinishJobRun records that the firing (job, scheduled) ended, with runErr
// (nil for success) kept for the record.
func (db *DB) FinishJobRun(ctx context.Context, job string, scheduled time.Time, runErr error) error {
	text := ""
	if runErr != nil {
		text = truncateRunes(runErr.Error(), 512)
		if text == "" {
			text = "error"
		}
	}
	at := storedTime(scheduled)
	g := db.q(ctx)
	res := g.Model(&JobRun{}).Where("job = ? AND scheduled_at = ?", job, at).
		Updates(map[string]any{"finished_at": storedTime(db.Now()), "error": text})
	if res.Error != nil {
		return fmt.Errorf("store: finish job run %s: %w", job, res.Error)
	}
	if res.RowsAffected == 0 {
		var n int64
		if err := g.Model(&JobRun{}).Where("job = ? AND scheduled_at = ?", job, at).Count(&n).Error; err != nil {
			return fmt.Errorf("store: finish job run %s: %w", job, err)
		}
		if n == 0 {
			return fmt.Errorf("store: job run %s at %s: %w", job, at.Format(time.RFC3339), ErrNotFound)
		}
	}
	return nil
}
