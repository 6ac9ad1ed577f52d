package handlers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/store"
)

// Temperature stores a temperature log (one line, or a 接龙 list) per
// person and day at the group's node, and alerts a fever at once, urgent,
// to the groups of the node's parent and grandparent — once per person and
// day, however often the list is copied.
func (h *Handlers) Temperature(ctx context.Context, c *bot.Context) error {
	if err := need(c); err != nil {
		return err
	}
	t := c.Parsed.Temperature
	if t == nil || len(t.Entries) == 0 {
		return invalid(txtTemperatureFormat)
	}
	date := c.Now
	if !t.Date.IsZero() {
		date = t.Date.Time
		if err := checkLogDay(date, c.Now); err != nil {
			return err
		}
	}
	log := store.TemperatureLog{NodeID: c.Node.ID, Day: day(date), ReporterID: c.Sender.ID, MessageID: c.LogID}
	var order []string
	last := map[string]float64{}
	for _, e := range t.Entries {
		name := strings.TrimSpace(e.Name)
		if name == "" { // "体温 36.5": the sender's own
			name = c.Sender.Name
		}
		if err := fits(txtFieldName, name, 64); err != nil {
			return err
		}
		log.Entries = append(log.Entries, store.TemperatureEntry{Name: name, Celsius: e.Celsius})
		if _, seen := last[name]; !seen {
			order = append(order, name)
		}
		last[name] = e.Celsius
	}
	// A 接龙 list is copied and extended all day long: a fever already
	// reported that day by an earlier message is not alerted again.
	before, err := h.st.TemperaturesOn(ctx, log.Day, c.Node.ID)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, r := range before {
		if r.MessageID != c.LogID && r.Celsius >= h.cfg.FeverCelsius {
			known[r.Name] = true
		}
	}
	n, err := h.st.RecordTemperatures(ctx, log)
	if err != nil {
		return err
	}
	var fevers []string
	for _, name := range order {
		if last[name] >= h.cfg.FeverCelsius && !known[name] {
			fevers = append(fevers, fmt.Sprintf(txtFeverEntry, name, last[name]))
		}
	}
	out := newPosts(c)
	out.say(fmt.Sprintf(txtTemperatureRecorded, n, dateLabel(date, c.Now)))
	if len(fevers) > 0 {
		alert := fmt.Sprintf(txtFeverAlert, c.Node.Name, dateLabel(date, c.Now), strings.Join(fevers, "、"), c.Sender.Name)
		where, err := h.alertUp(ctx, out, c.Origin("fever"), alert)
		if err != nil {
			return err
		}
		out.say(fmt.Sprintf(txtFeverFound, len(fevers), h.cfg.FeverCelsius, where))
	}
	return out.send(ctx)
}

// maxLogAge is how many days back a temperature list may be dated: older
// than that it is not a daily log any more but history, more likely a
// mistyped date (or a year-old list pasted) than a late report.
const maxLogAge = 7

// checkLogDay refuses a list dated after today, or more than maxLogAge days
// before it (civil dates in now's zone), with a hint to check the date.
func checkLogDay(date, now time.Time) error {
	d, today := day(date.In(now.Location())), day(now)
	y, m, dd := now.Date()
	oldest := day(time.Date(y, m, dd-maxLogAge, 0, 0, 0, 0, now.Location()))
	switch {
	case d > today:
		return invalid(fmt.Sprintf(txtTemperatureFuture, dateLabel(date, now)))
	case d < oldest:
		return invalid(fmt.Sprintf(txtTemperatureTooOld, dateLabel(date, now), maxLogAge))
	}
	return nil
}
