package config

import (
	"strings"
	"time"
)

// ParseQuietHours reads outbox.quiet_hours ("22:00-07:00", "" for none)
// as the times of day, since midnight, at which the quiet span starts and
// ends; from == to means none. ok is false when s is not two different
// times "HH:MM" joined by "-".
func ParseQuietHours(s string) (from, to time.Duration, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, 0, true
	}
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	from, okA := clockOfDay(strings.TrimSpace(a))
	to, okB := clockOfDay(strings.TrimSpace(b))
	if !okA || !okB || from == to {
		return 0, 0, false
	}
	return from, to, true
}

// clockOfDay reads "HH:MM", 00:00 to 23:59, as the time since midnight.
func clockOfDay(s string) (time.Duration, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, false
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, true
}
