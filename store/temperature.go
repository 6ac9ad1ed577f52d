package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// TemperatureEntry is one person's reading in a TemperatureLog.
type TemperatureEntry struct {
	Name    string
	Celsius float64
}

// TemperatureLog is one message's temperature report: several people at one
// node on one day, reported by one person.
type TemperatureLog struct {
	NodeID     int64
	Day        string // YYYY-MM-DD, Asia/Shanghai
	ReporterID int64
	MessageID  int64
	Entries    []TemperatureEntry
	// People ties names of Entries to the roster's tenants they stand for
	// (see Temperature.PersonID); a name not in it is tied to nobody.
	People map[string]int64
}

// Plausible body temperatures. The parser accepts 35.0–42.0; the store
// refuses only what cannot be a reading at all.
const (
	minCelsius = 30.0
	maxCelsius = 45.0
)

// validDay checks a YYYY-MM-DD civil date.
func validDay(day string) error {
	if _, err := time.Parse("2006-01-02", day); err != nil {
		return fmt.Errorf("day %q is not YYYY-MM-DD", day)
	}
	return nil
}

// validText checks a required (or optional) bounded text field. Control
// characters other than tab and line feed are refused: no chat message
// carries one once parsed, and a NUL or an escape would make two spellings
// of one name that look the same.
func validText(field, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return fmt.Errorf("%s is empty", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Errorf("%s is %d characters long (at most %d)", field, n, max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' }); i >= 0 {
		return fmt.Errorf("%s has control character %U at byte %d", field, s[i], i)
	}
	return nil
}

// RecordTemperatures stores the readings of one message, one row per
// (node, name, day), and returns those rows as they now stand, by name. A
// reading for a person already recorded that day replaces the earlier
// value and points to this message, unless the row already comes from a
// later message (a replay of an old message never overwrites a newer
// reading). A name given twice keeps its last value.
//
// Each row is locked until the unit of work ends (on MySQL), so that what
// the caller decides from it — whether to alert a fever, and marking it
// alerted (MarkFeverAlerted) — cannot race another report of the same
// person: two copies of one list written at once take turns.
func (db *DB) RecordTemperatures(ctx context.Context, log TemperatureLog) ([]Temperature, error) {
	readings, err := temperatureReadings(log)
	if err != nil {
		return nil, fmt.Errorf("store: record temperatures: %w", err)
	}
	var rows []Temperature
	if db.returning {
		err := db.tx(ctx, func(tx *gorm.DB) error {
			var err error
			rows, err = db.upsertTemperatures(tx, readings)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("store: record temperatures: %w", err)
		}
		slices.SortFunc(rows, func(a, b Temperature) int { return strings.Compare(a.Name, b.Name) })
		return rows, nil
	}
	names := make([]string, len(readings))
	for i, r := range readings {
		names[i] = r.Name
	}
	err = db.tx(ctx, func(tx *gorm.DB) error {
		rows = rows[:0]
		// The day's records of these names, locked, in one statement.
		var cur []Temperature
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).
			Where("node_id = ? AND day = ? AND name IN ?", log.NodeID, log.Day, names).Find(&cur).Error; err != nil {
			return err
		}
		byName := make(map[string]Temperature, len(cur))
		for _, r := range cur {
			byName[r.Name] = r
		}
		now := db.Now()
		var fresh []Temperature
		var replaced []Temperature
		for _, reading := range readings {
			r, found := byName[reading.Name]
			switch {
			case !found:
				fresh = append(fresh, reading)
			case r.MessageID > log.MessageID:
				rows = append(rows, r) // a newer report holds the day's value
			default:
				r.Celsius, r.ReporterID, r.MessageID, r.UpdatedAt, r.PersonID = reading.Celsius, log.ReporterID, log.MessageID, now, reading.PersonID
				replaced = append(replaced, r)
			}
		}
		if err := replaceTemperatures(tx, replaced, log, now); err != nil {
			return err
		}
		// New names in one multi-row insert. A rival insert of the same
		// person fails on the unique key, and the unit of work runs again
		// and replaces instead.
		if len(fresh) > 0 {
			if err := tx.Create(&fresh).Error; err != nil {
				return err
			}
		}
		rows = append(append(rows, replaced...), fresh...)
		slices.SortFunc(rows, func(a, b Temperature) int { return strings.Compare(a.Name, b.Name) })
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: record temperatures: %w", err)
	}
	return rows, nil
}

// QueueTemperatures stores the readings of one message as RecordTemperatures
// does, for a caller that decides nothing from the rows (no reading can be
// a fever), and returns how many people it recorded. Inside a unit of work
// the rows are written when the unit commits — the readings of every
// message of a batch in one statement — or earlier, right before any
// statement of the unit that touches the temperatures table, so that the
// unit reads what it wrote (writeLater). Outside a unit they are written
// at once. Bad input is refused here, not
// at the commit.
func (db *DB) QueueTemperatures(ctx context.Context, log TemperatureLog) (int, error) {
	readings, err := temperatureReadings(log)
	if err != nil {
		return 0, fmt.Errorf("store: record temperatures: %w", err)
	}
	if err := writeLater(ctx, db, temperaturesTable, (*DB).temperatureWrites, readings...); err != nil {
		return 0, err
	}
	return len(readings), nil
}

// temperatureReadings checks log and returns its rows to write: one per
// name, with the name's last value, in name order — a fixed order of row
// locks keeps two copies of one list, written at once, from deadlocking on
// MySQL.
func temperatureReadings(log TemperatureLog) ([]Temperature, error) {
	if log.NodeID == 0 || log.ReporterID == 0 || log.MessageID == 0 {
		return nil, errors.New("node, reporter and message are required")
	}
	if err := validDay(log.Day); err != nil {
		return nil, err
	}
	if len(log.Entries) == 0 {
		return nil, errors.New("no entries")
	}
	var names []string
	last := map[string]float64{}
	for _, e := range log.Entries {
		name := strings.TrimSpace(e.Name)
		if err := validText("name", name, 64, true); err != nil {
			return nil, err
		}
		if e.Celsius < minCelsius || e.Celsius > maxCelsius || math.IsNaN(e.Celsius) {
			return nil, fmt.Errorf("%s: %.1f°C is not a body temperature", name, e.Celsius)
		}
		if _, seen := last[name]; !seen {
			names = append(names, name)
		}
		last[name] = e.Celsius
	}
	sort.Strings(names)
	rows := make([]Temperature, len(names))
	for i, name := range names {
		rows[i] = Temperature{NodeID: log.NodeID, Name: name, Day: log.Day, Celsius: last[name],
			ReporterID: log.ReporterID, MessageID: log.MessageID}
		if id, ok := log.People[name]; ok && id > 0 {
			rows[i].PersonID = &id
		}
	}
	return rows, nil
}

// temperaturesTable is the table of Temperature rows.
const temperaturesTable = "temperatures"

// temperatureWrites are the statements that write readings (of any
// messages) as RecordTemperatures would, without reading them back: a
// chunk of rows each, in (node, day, name) order, so that units writing
// the same people lock their rows in one order. Where the database cannot
// return what an upsert wrote, it upserts all the same: nothing is decided
// from the rows.
func (db *DB) temperatureWrites(readings []Temperature) []statement {
	readings = slices.Clone(readings)
	slices.SortStableFunc(readings, func(a, b Temperature) int {
		if a.NodeID != b.NodeID {
			return cmp.Compare(a.NodeID, b.NodeID)
		}
		if a.Day != b.Day {
			return strings.Compare(a.Day, b.Day)
		}
		return strings.Compare(a.Name, b.Name)
	})
	var out []statement
	for len(readings) > 0 {
		n := min(len(readings), chunk)
		sql, args := db.temperatureUpsert(readings[:n], false)
		out = append(out, statement{sql: sql, args: args})
		readings = readings[n:]
	}
	return out
}

// upsertTemperatures is RecordTemperatures in one statement, where the
// database returns what an upsert wrote (DB.returning): each name's row is
// inserted, or — when the day has one — given this reading unless a later
// message wrote it, and every row comes back as it now stands. Its row
// locks are those the read-then-write path takes, in the same (name)
// order.
func (db *DB) upsertTemperatures(tx *gorm.DB, readings []Temperature) ([]Temperature, error) {
	sql, args := db.temperatureUpsert(readings, true)
	// The write goes through gorm's row path, which the savepoint
	// callbacks do not see (they watch writes): take them here.
	if takeSavepoints(tx); tx.Error != nil {
		return nil, tx.Error
	}
	var rows []Temperature
	if err := tx.Raw(sql, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	return rows, nil
}

// temperatureUpsert is the statement that writes readings: each (node,
// name, day) row inserted, or given its reading unless a later message
// wrote it (a replay of an old message never overwrites a newer reading,
// whatever order two messages' rows are written in), and with returning
// read back as it now stands. In MariaDB's ON DUPLICATE KEY UPDATE an
// assignment sees the columns assigned before it, so message_id, which
// the others test, is assigned last; SQLite's DO UPDATE sees the old row
// throughout.
func (db *DB) temperatureUpsert(readings []Temperature, returning bool) (string, []any) {
	now := db.Now().Truncate(time.Microsecond)
	var b strings.Builder
	b.WriteString("INSERT INTO temperatures (node_id, name, day, celsius, alerted_celsius, reporter_id, message_id, person_id, created_at, updated_at) VALUES ")
	args := make([]any, 0, 9*len(readings))
	for i, r := range readings {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, 0, ?, ?, ?, ?, ?)")
		args = append(args, r.NodeID, r.Name, r.Day, r.Celsius, r.ReporterID, r.MessageID, r.PersonID, now, now)
	}
	newer, set, keep := "excluded.message_id", "excluded.", "message_id = MAX(message_id, excluded.message_id)"
	if db.driver == DriverMySQL {
		newer, set, keep = "VALUES(message_id)", "", "message_id = GREATEST(message_id, VALUES(message_id))"
		b.WriteString(" ON DUPLICATE KEY UPDATE ")
	} else {
		b.WriteString(" ON CONFLICT (node_id, name, day) DO UPDATE SET ")
	}
	for _, col := range []string{"celsius", "person_id", "reporter_id", "updated_at"} {
		value := set + col
		if set == "" {
			value = "VALUES(" + col + ")"
		}
		fmt.Fprintf(&b, "%s = CASE WHEN message_id <= %s THEN %s ELSE %s END, ", col, newer, value, col)
	}
	b.WriteString(keep)
	if returning {
		b.WriteString(" RETURNING id, node_id, name, day, celsius, alerted_celsius, reporter_id, message_id, person_id, created_at, updated_at")
	}
	return b.String(), args
}

// replaceTemperatures writes the new readings of rows, all from log's
// message, in one statement: a list of many names costs one round trip,
// not one per name.
func replaceTemperatures(tx *gorm.DB, rows []Temperature, log TemperatureLog, now time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	var cases, people strings.Builder
	args := make([]any, 0, 4*len(rows)+len(rows)+3)
	var personArgs []any
	ids := make([]int64, len(rows))
	cases.WriteString("CASE id")
	people.WriteString("CASE id")
	for i, r := range rows {
		cases.WriteString(" WHEN ? THEN ?")
		people.WriteString(" WHEN ? THEN ?")
		args = append(args, r.ID, r.Celsius)
		personArgs = append(personArgs, r.ID, r.PersonID)
		ids[i] = r.ID
	}
	cases.WriteString(" END")
	people.WriteString(" END")
	args = append(append(args, personArgs...), log.ReporterID, log.MessageID, now, ids)
	return tx.Exec("UPDATE temperatures SET celsius = "+cases.String()+", person_id = "+people.String()+
		", reporter_id = ?, message_id = ?, updated_at = ? WHERE id IN ?", args...).Error
}

// MarkFeverAlerted records that the reading of temperature row id was
// alerted at celsius, the level later readings that day must pass to be
// alerted again.
func (db *DB) MarkFeverAlerted(ctx context.Context, id int64, celsius float64) error {
	res := db.q(ctx).Model(&Temperature{}).Where("id = ?", id).Update("alerted_celsius", celsius)
	if res.Error != nil {
		return fmt.Errorf("store: mark fever alerted %d: %w", id, res.Error)
	}
	return nil
}

// TemperaturesOn returns the readings of day at nodeIDs, by node then name:
// what a daily digest counts.
func (db *DB) TemperaturesOn(ctx context.Context, day string, nodeIDs ...int64) ([]Temperature, error) {
	if err := validDay(day); err != nil {
		return nil, fmt.Errorf("store: temperatures: %w", err)
	}
	if len(nodeIDs) == 0 {
		return nil, nil
	}
	var out []Temperature
	err := db.q(ctx).Where("day = ? AND node_id IN ?", day, nodeIDs).
		Order("node_id, name").Find(&out).Error
	return out, err
}

// FeversOn returns the readings of day at nodeIDs at or above celsius, by
// node then name.
func (db *DB) FeversOn(ctx context.Context, day string, celsius float64, nodeIDs ...int64) ([]Temperature, error) {
	if err := validDay(day); err != nil {
		return nil, fmt.Errorf("store: fevers: %w", err)
	}
	if len(nodeIDs) == 0 {
		return nil, nil
	}
	var out []Temperature
	err := db.q(ctx).Where("day = ? AND node_id IN ? AND celsius >= ?", day, nodeIDs, celsius).
		Order("node_id, name").Find(&out).Error
	return out, err
}
