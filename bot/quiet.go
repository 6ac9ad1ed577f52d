package bot

import (
	"time"

	"github.com/towerbot/towerbot/store"
)

// QuietHours is the daily span during which a sender holds back posts that
// can wait — digests, rankings, announcements, directives — so that a
// group's phones do not ring at night. From and To are times of day (the
// time since midnight) in Location; a span with From after To runs over
// midnight ("22:00-07:00"). The zero value, or From equal to To, is no
// quiet hours at all.
//
// Never held: urgent posts (a fever alert must reach the commanders at
// once) and a message's own answer (its reply or error reply, or the
// notice it drew: the sender has just written and waits for it, and the
// platform's reply handle would expire by morning).
type QuietHours struct {
	From, To time.Duration
	Location *time.Location
}

// Enabled reports whether q holds anything back at all.
func (q QuietHours) Enabled() bool { return q.From != q.To }

// Until reports whether t falls in quiet hours and, when it does, when
// they end.
func (q QuietHours) Until(t time.Time) (end time.Time, quiet bool) {
	if !q.Enabled() {
		return time.Time{}, false
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	local := t.In(loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	since := local.Sub(midnight)
	switch {
	case q.From < q.To && since >= q.From && since < q.To:
		return midnight.Add(q.To), true
	case q.From > q.To && since >= q.From: // the evening part of a span over midnight
		next := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, loc)
		return next.Add(q.To), true
	case q.From > q.To && since < q.To: // its morning part
		return midnight.Add(q.To), true
	}
	return time.Time{}, false
}

// Holds reports whether quiet hours hold item back: neither urgent nor
// its message's own answer.
func (q QuietHours) Holds(it store.OutboxItem) bool {
	return !it.Urgent && !it.Origin.AnswersMessage()
}
