package config

import (
	"strings"
	"testing"
	"time"
)

// Every job has a schedule by default, each a cron expression that parses;
// a schedule that is not one, an impossible catch-up or an unreadable
// deadline is reported under its key, all at once.
func TestJobSchedules(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, spec := range c.Jobs.Schedules() {
		if s, err := ParseSchedule(spec); err != nil || s == nil {
			t.Errorf("%s: %q: %v", name, spec, err)
		}
	}
	if len(c.Jobs.Schedules()) != 5 {
		t.Fatalf("schedules: %v", c.Jobs.Schedules())
	}
	_, err = Load("", []string{
		"TOWERBOT_JOBS_DAILY_DIGEST_SCHEDULE=every evening",
		"TOWERBOT_JOBS_OVERDUE_SCHEDULE=-",
		"TOWERBOT_JOBS_CATCH_UP=-1h",
		"TOWERBOT_RULES_TEMPERATURE_DEADLINE=25:00",
		"TOWERBOT_RULES_RANKING_TIER=4",
	})
	ps, ok := err.(Problems)
	if !ok {
		t.Fatalf("bad job settings: %v", err)
	}
	got := strings.Join(ps.Keys(), " ")
	for _, key := range []string{"jobs.daily_digest.schedule", "jobs.catch_up", "rules.temperature_deadline", "rules.ranking_tier"} {
		if !strings.Contains(got, key) {
			t.Errorf("problems %q lack %s", got, key)
		}
	}
	if strings.Contains(got, "jobs.overdue.schedule") {
		t.Errorf("- (off) was refused: %v", err)
	}
}

func TestTemperatureDeadlineAt(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	r := Default().Rules
	r.TemperatureDeadline = "09:30"
	at := time.Date(2020, 2, 24, 23, 0, 0, 0, loc)
	if got := r.TemperatureDeadlineAt(at); !got.Equal(time.Date(2020, 2, 24, 9, 30, 0, 0, loc)) {
		t.Fatalf("deadline %v", got)
	}
}
