package tower

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// Reading is one person's temperature.
type Reading struct {
	Name    string // "" is the person reporting
	Celsius float64
}

// TemperatureReport is a temperature log: one line, or a 接龙 list.
type TemperatureReport struct {
	Date     time.Time // the list's date; zero is the act's day
	Readings []Reading
}

// Fever is a reading alerted up the chain.
type Fever struct {
	Name    string
	Celsius float64
	Before  float64 // the level alerted earlier that day, when this one rises above it; 0 for none
}

// TemperatureResult is what RecordTemperatures did.
type TemperatureResult struct {
	Day      time.Time // the civil day the readings count for
	Recorded int       // distinct people recorded
	Fevers   []Fever   // alerted by this report, in the report's order
	Reach    Reach     // where the alerts went (when there were any)
	Here     []Note
}

// MaxLogAge is how many days back a temperature list may be dated: older
// than that it is not a daily log any more but history, more likely a
// mistyped date (or a year-old list pasted) than a late report.
const MaxLogAge = 7

// RecordTemperatures keeps a temperature log at the act's node, one record
// per person and day (a later report replaces the value), and alerts each
// fever at once, urgent, to the groups above (AlertTargets) — in the same
// unit of work, so a reading never commits without its alert.
//
// A fever is alerted when it is above the level already alerted for that
// person that day (MustAlert): a 接龙 list copied and extended all day, or
// posted twice at once, alerts a fever once, and a rising one again. Each
// alert is keyed by the day's record and its level, so however the
// reports race, the same alert is posted once.
func (t *Tower) RecordTemperatures(ctx context.Context, act Act, rep TemperatureReport) (*TemperatureResult, error) {
	if err := needNode(act); err != nil {
		return nil, err
	}
	if len(rep.Readings) == 0 {
		return nil, invalid(texts.TemperatureFormat)
	}
	date := act.At
	if !rep.Date.IsZero() {
		date = rep.Date.In(act.At.Location())
		if err := checkLogDay(date, act.At); err != nil {
			return nil, err
		}
	}
	log := store.TemperatureLog{NodeID: act.Node.ID, Day: day(date), ReporterID: act.By.ID, MessageID: act.Message}
	var order []string
	last := map[string]float64{}
	for _, r := range rep.Readings {
		name := strings.TrimSpace(r.Name)
		if name == "" {
			name = act.By.Name
		}
		if err := fits(texts.FieldName, name, 64); err != nil {
			return nil, err
		}
		person, err := t.tenantNamed(ctx, act.Node.ID, name)
		if err != nil {
			return nil, err
		}
		if person != nil {
			if log.People == nil {
				log.People = map[string]int64{}
			}
			log.People[name] = *person
		}
		log.Entries = append(log.Entries, store.TemperatureEntry{Name: name, Celsius: r.Celsius})
		if _, seen := last[name]; !seen {
			order = append(order, name)
		}
		last[name] = r.Celsius
	}
	res := &TemperatureResult{Day: date}
	var err error
	res.Here, err = t.atomic(ctx, act, func(ctx context.Context, out *posts) error {
		res.Fevers, res.Reach = nil, Reach{}
		if !t.mayAlert(rep.Readings) {
			// Nothing to decide from the rows: they are written with the
			// unit's others (the batch's readings in one statement).
			res.Recorded, err = t.st.QueueTemperatures(ctx, log)
			return err
		}
		rows, err := t.st.RecordTemperatures(ctx, log)
		if err != nil {
			return err
		}
		res.Recorded = len(rows)
		byName := map[string]store.Temperature{}
		for _, r := range rows {
			byName[r.Name] = r
		}
		var alerts []alert
		for _, name := range order {
			r := byName[name]
			if r.MessageID != act.Message || !MustAlert(r.Celsius, r.AlertedCelsius, t.rules.FeverCelsius) {
				continue // a newer report holds the day's value, or nothing new to alert
			}
			if err := t.st.MarkFeverAlerted(ctx, r.ID, r.Celsius); err != nil {
				return err
			}
			f := Fever{Name: name, Celsius: r.Celsius, Before: r.AlertedCelsius}
			res.Fevers = append(res.Fevers, f)
			alerts = append(alerts, alert{
				origin: store.FactOrigin("fever", r.ID, strconv.Itoa(tenths(r.Celsius))),
				text: fmt.Sprintf(texts.FeverAlert, act.Node.Name, texts.DateLabel(date, act.At), f.Say(),
					act.By.Name),
			})
		}
		if len(alerts) == 0 {
			return nil
		}
		res.Reach, err = t.alertUp(ctx, out, act.Node.ID, alerts...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// mayAlert reports whether any of readings is a fever, which is alerted
// unless a level as high was alerted that day already (MustAlert): only
// then must the rows be read back as they stand.
func (t *Tower) mayAlert(readings []Reading) bool {
	for _, r := range readings {
		if MustAlert(r.Celsius, 0, t.rules.FeverCelsius) {
			return true
		}
	}
	return false
}

// Say is a fever as an alert names it: 李四 38.6℃, and the earlier level
// when it rose.
func (f Fever) Say() string {
	s := fmt.Sprintf(texts.FeverEntry, f.Name, f.Celsius)
	if f.Before > 0 {
		s += fmt.Sprintf(texts.FeverRising, f.Before)
	}
	return s
}

// MustAlert is the rule of who is alerted: a reading at or above the fever
// threshold that is higher than the level already alerted for that person
// that day (0 when none was). The same or a lower value is not alerted
// again; a higher one is, so that the commanders above know it rose.
func MustAlert(celsius, alerted, threshold float64) bool {
	return celsius >= threshold && tenths(celsius) > tenths(alerted)
}

// tenths is a temperature in tenths of a degree, as readings are written:
// the level an alert is keyed and compared by.
func tenths(celsius float64) int { return int(math.Round(celsius * 10)) }

// checkLogDay refuses a list dated after today, or more than MaxLogAge
// days before it (civil dates in now's zone), with a hint to check the date.
func checkLogDay(date, now time.Time) error {
	d, today := day(date), day(now)
	y, m, dd := now.Date()
	oldest := day(time.Date(y, m, dd-MaxLogAge, 0, 0, 0, 0, now.Location()))
	switch {
	case d > today:
		return invalid(fmt.Sprintf(texts.TemperatureFuture, texts.DateLabel(date, now)))
	case d < oldest:
		return invalid(fmt.Sprintf(texts.TemperatureTooOld, texts.DateLabel(date, now), MaxLogAge))
	}
	return nil
}

// tenantNamed is the id of the one tenant of node called name, nil when
// no tenant, or more than one, has that name there: a reading is tied to a
// person only when the name says who, so two tenants of one name are never
// counted as one (coverage then counts neither; see DigestFigures).
func (t *Tower) tenantNamed(ctx context.Context, nodeID int64, name string) (*int64, error) {
	found, err := t.st.PeopleNamed(ctx, name, store.RoleTenant, []int64{nodeID})
	if err != nil {
		return nil, err
	}
	var id int64
	for _, p := range found {
		if id != 0 && p.ID != id {
			return nil, nil
		}
		id = p.ID
	}
	if id == 0 {
		return nil, nil
	}
	return &id, nil
}
