// Package jobs are towerbot's scheduled jobs, as thin over the domain as
// the chat handlers are: each turns a firing (package bot/schedule) into
// one call of package tower, which counts, writes and queues the posts.
package jobs

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/bot/schedule"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/tower"
)

// All returns every job over the domain tw, by name (tower.Job*).
func All(tw *tower.Tower) []schedule.Job {
	return []schedule.Job{
		{Name: tower.JobDailyDigest, Run: func(ctx context.Context, f schedule.Firing) (int, error) {
			return tw.DailyDigest(ctx, f.At, f.Key())
		}},
		{Name: tower.JobWeeklyRanking, Run: func(ctx context.Context, f schedule.Firing) (int, error) {
			return tw.WeeklyRanking(ctx, f.At, f.Key())
		}},
		{Name: tower.JobOverdue, Run: func(ctx context.Context, f schedule.Firing) (int, error) {
			return tw.OverdueSweep(ctx, f.At, f.Key())
		}},
		{Name: tower.JobTemperatureReminder, Run: func(ctx context.Context, f schedule.Firing) (int, error) {
			return tw.TemperatureReminder(ctx, f.At, f.Key())
		}},
		{Name: tower.JobQuarantineReminder, Run: func(ctx context.Context, f schedule.Firing) (int, error) {
			return tw.QuarantineReminder(ctx, f.At, f.Key())
		}},
	}
}

// Register adds every job to s on its schedule in c.
func Register(s *schedule.Scheduler, tw *tower.Tower, c config.Jobs) error {
	specs := c.Schedules()
	for _, j := range All(tw) {
		spec, ok := specs[j.Name]
		if !ok {
			return fmt.Errorf("jobs: no schedule configured for %s", j.Name)
		}
		if err := s.Add(j, spec); err != nil {
			return err
		}
	}
	return nil
}
