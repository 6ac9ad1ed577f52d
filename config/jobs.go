package config

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Jobs schedules towerbot's scheduled jobs. Every schedule is a standard
// five-field cron expression (minute hour day-of-month month day-of-week)
// read in Timezone, or a descriptor such as @hourly; "-" turns the job off
// (it can still be run by hand with `towerbot job run`).
type Jobs struct {
	// CatchUp is how far back a starting process looks for firings it
	// missed while no replica was up: each job's latest missed firing
	// within it runs at once (0s: none).
	CatchUp time.Duration `yaml:"catch_up"`
	// Timeout bounds one run; a run still marked running this long after
	// it started is taken as dead and may run again.
	Timeout time.Duration `yaml:"timeout"`

	DailyDigest         JobSchedule `yaml:"daily_digest"`
	WeeklyRanking       JobSchedule `yaml:"weekly_ranking"`
	Overdue             JobSchedule `yaml:"overdue"`
	TemperatureReminder JobSchedule `yaml:"temperature_reminder"`
	QuarantineReminder  JobSchedule `yaml:"quarantine_reminder"`
}

// JobSchedule is when one job runs.
type JobSchedule struct {
	Schedule string `yaml:"schedule"`
}

// Off is the schedule of a job that never fires by itself.
const Off = "-"

// defaultJobs is the schedule of the embedded set-up: the digest at 20:00,
// the red/black list on Monday 08:00, the overdue sweep hourly, the
// temperature reminder at 08:30 (before rules.temperature_deadline) and
// 10:30 (after it), the quarantine reminder at 09:00.
func defaultJobs() Jobs {
	return Jobs{
		CatchUp:             2 * time.Hour,
		Timeout:             10 * time.Minute,
		DailyDigest:         JobSchedule{"0 20 * * *"},
		WeeklyRanking:       JobSchedule{"0 8 * * 1"},
		Overdue:             JobSchedule{"0 * * * *"},
		TemperatureReminder: JobSchedule{"30 8,10 * * *"},
		QuarantineReminder:  JobSchedule{"0 9 * * *"},
	}
}

// Schedules returns each job's schedule by its name (the names `towerbot
// job` takes).
func (j Jobs) Schedules() map[string]string {
	return map[string]string{
		"daily-digest":         j.DailyDigest.Schedule,
		"weekly-ranking":       j.WeeklyRanking.Schedule,
		"overdue":              j.Overdue.Schedule,
		"temperature-reminder": j.TemperatureReminder.Schedule,
		"quarantine-reminder":  j.QuarantineReminder.Schedule,
	}
}

// ParseSchedule reads a job's schedule: nil for Off.
func ParseSchedule(spec string) (cron.Schedule, error) {
	if spec == Off {
		return nil, nil
	}
	return cron.ParseStandard(spec)
}

func (j Jobs) problems() Problems {
	var ps Problems
	add := func(key, format string, args ...any) {
		ps = append(ps, &Problem{Key: "jobs." + key, Msg: fmt.Sprintf(format, args...)})
	}
	if j.CatchUp < 0 || j.CatchUp > 7*24*time.Hour {
		add("catch_up", "%s is out of range (use 0s, no catching up, to 168h)", j.CatchUp)
	}
	if j.Timeout < time.Minute || j.Timeout > 24*time.Hour {
		add("timeout", "%s is out of range (use 1m to 24h)", j.Timeout)
	}
	for key, s := range map[string]string{
		"daily_digest.schedule": j.DailyDigest.Schedule, "weekly_ranking.schedule": j.WeeklyRanking.Schedule,
		"overdue.schedule": j.Overdue.Schedule, "temperature_reminder.schedule": j.TemperatureReminder.Schedule,
		"quarantine_reminder.schedule": j.QuarantineReminder.Schedule,
	} {
		if _, err := ParseSchedule(s); err != nil {
			add(key, "%q is not a cron schedule (write it like \"0 20 * * *\" for 20:00 daily, or - for never): %v", s, err)
		}
	}
	return ps
}

// TemperatureDeadlineAt is rules.temperature_deadline on t's civil day, in
// t's location.
func (r Rules) TemperatureDeadlineAt(t time.Time) time.Time {
	hm, err := time.Parse("15:04", r.TemperatureDeadline)
	if err != nil {
		hm = time.Date(0, 1, 1, 10, 0, 0, 0, time.UTC)
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, hm.Hour(), hm.Minute(), 0, 0, t.Location())
}

// jobRuleProblems checks the rules the scheduled jobs apply.
func (r Rules) jobRuleProblems(add func(key, format string, args ...any)) {
	if r.ErrandUnclaimedHours < 1 || r.ErrandUnclaimedHours > 24*30 {
		add("errand_unclaimed_hours", "%d is out of range (use 1 to 720)", r.ErrandUnclaimedHours)
	}
	if r.ErrandUndoneHours < 1 || r.ErrandUndoneHours > 24*30 {
		add("errand_undone_hours", "%d is out of range (use 1 to 720)", r.ErrandUndoneHours)
	}
	if r.RankingTier < 1 || r.RankingTier > 3 {
		add("ranking_tier", "%d is not a tier that ranks landlords (use 1 sub-district, 2 community or 3 unit)", r.RankingTier)
	}
	if r.RewardPerPoint < 0 || r.RewardPerPoint > 10000 {
		add("reward_per_point", "%g is out of range (use 0, no reward, to 10000 yuan)", r.RewardPerPoint)
	}
	if _, err := time.Parse("15:04", r.TemperatureDeadline); err != nil {
		add("temperature_deadline", "%q is not a time of day (write it like 10:00)", r.TemperatureDeadline)
	}
}
