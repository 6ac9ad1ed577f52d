package config

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestQuietHours(t *testing.T) {
	for s, want := range map[string][2]time.Duration{
		"":                {0, 0},
		"22:00-07:00":     {22 * time.Hour, 7 * time.Hour},
		" 12:00 - 13:30 ": {12 * time.Hour, 13*time.Hour + 30*time.Minute},
		"00:00-06:00":     {0, 6 * time.Hour},
	} {
		from, to, ok := ParseQuietHours(s)
		if !ok || from != want[0] || to != want[1] {
			t.Errorf("ParseQuietHours(%q) = %v, %v, %v; want %v", s, from, to, ok, want)
		}
	}
	for _, s := range []string{"22:00", "22-07", "22:00-7:00", "24:00-07:00", "22:00-07:60", "07:00-07:00", "夜里", "22:00-07:00-08:00"} {
		c := Default()
		c.Outbox.QuietHours = s
		var ps Problems
		if err := c.Validate(); !errors.As(err, &ps) || !slices.Equal(ps.Keys(), []string{"outbox.quiet_hours"}) {
			t.Errorf("quiet_hours %q: Validate() = %v; want one problem with outbox.quiet_hours", s, err)
		}
	}
	c, err := Load("", []string{"TOWERBOT_OUTBOX_QUIET_HOURS=22:00-07:00"})
	if err != nil || c.Outbox.QuietHours != "22:00-07:00" {
		t.Errorf("Load with TOWERBOT_OUTBOX_QUIET_HOURS = %q, %v", c.Outbox.QuietHours, err)
	}
}
