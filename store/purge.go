package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// PurgeBatch is how many rows one statement of PurgePersonalData changes at
// most: a city's worth of old records is blanked in many short statements,
// so no table is locked for long while the bot keeps writing.
const PurgeBatch = 1000

// PurgeStats counts what PurgePersonalData changed (or, from
// CountPersonalData, would change), per kind of record.
type PurgeStats struct {
	Returns      int64 // tenant returns whose phone, address and health code were blanked
	Messages     int64 // inbound messages whose text, raw payload and parse were blanked
	Errands      int64 // finished errands whose detail, address and beneficiary were blanked
	Temperatures int64 // temperature rows deleted
	Posts        int64 // sent or failed outbox posts whose text was blanked
}

// Total is the sum of all counts.
func (s PurgeStats) Total() int64 {
	return s.Returns + s.Messages + s.Errands + s.Temperatures + s.Posts
}

// purgeTarget is one kind of record holding personal data: which rows are
// due (where, with before as its one argument) and what is done to them
// (set, or delete when set is nil). where also excludes rows already
// purged, so a second run finds nothing and counts stay honest.
type purgeTarget struct {
	table string
	where string
	arg   func(before time.Time) any
	set   map[string]any
}

func utcArg(before time.Time) any { return before.UTC() }

// purgeTargets lists the personal data and when it is due. The records
// themselves stay (留痕: who reported what, when, from which message); only
// the personal fields go. Temperatures are per-day health logs with nothing
// else to keep, so their rows go.
func purgeTargets() []purgeTarget {
	return []purgeTarget{
		{
			table: "tenant_returns",
			where: "created_at < ? AND (phone <> '' OR address <> '' OR health_code <> '')",
			arg:   utcArg,
			set:   map[string]any{"phone": "", "address": "", "health_code": ""},
		},
		{
			// A pending message is still to be handled (after a crash the
			// engine replays it), so it keeps its text until it is.
			table: "inbound_messages",
			where: "received_at < ? AND outcome <> '" + OutcomePending + "' AND (text <> '' OR raw IS NOT NULL OR parsed <> '')",
			arg:   utcArg,
			set:   map[string]any{"text": "", "raw": nil, "parsed": ""},
		},
		{
			// Open and claimed errands are still being worked on. A finished
			// errand is due once its last step (updated_at) is older than
			// before, so the retention runs from when it was done.
			table: "errands",
			where: "updated_at < ? AND status IN ('" + ErrandDone + "', '" + ErrandCancelled + "') AND (detail <> '' OR address <> '' OR beneficiary <> '')",
			arg:   utcArg,
			set:   map[string]any{"detail": "", "address": "", "beneficiary": ""},
		},
		{
			// What the bot posted repeats names, temperatures, health codes
			// and addresses (fever and health-code alerts, return replies).
			// A post still pending is yet to be sent and keeps its text.
			table: "outbox_items",
			where: "created_at < ? AND status IN ('" + OutboxSent + "', '" + OutboxFailed + "') AND text <> ''",
			arg:   utcArg,
			set:   map[string]any{"text": ""},
		},
		{
			// Day is a civil date; before's own date (in before's location)
			// is the first day kept.
			table: "temperatures",
			where: "day < ?",
			arg:   func(before time.Time) any { return before.Format(time.DateOnly) },
		},
	}
}

// add adds n to the count of table's records.
func (s *PurgeStats) add(table string, n int64) {
	switch table {
	case "tenant_returns":
		s.Returns += n
	case "inbound_messages":
		s.Messages += n
	case "errands":
		s.Errands += n
	case "temperatures":
		s.Temperatures += n
	case "outbox_items":
		s.Posts += n
	}
}

// PurgePersonalData enforces the retention of personal data (DESIGN.md:
// phones, ID numbers and health are kept only as long as configured) for
// records older than before:
//
//   - tenant returns created before it lose phone, address and health code;
//   - inbound messages received before it, once handled, lose text, raw
//     payload and parse result (kind and outcome stay);
//   - done or cancelled errands last changed before it lose detail,
//     address and beneficiary (an elderly or sick resident's name); open
//     and claimed errands are kept whole;
//   - sent or failed posts of the bot created before it lose their text
//     (origin, destination and times stay);
//   - temperature rows of days before before's date (in before's
//     location: pass the configured zone's midnight) are deleted.
//
// Every record other than temperatures stays, so who reported what and
// when remains on record. Rows are changed in batches of PurgeBatch, each
// its own statement, so a large purge never holds a table for long; on an
// error the batches already done stay done and the stats say how many. A
// second run with the same before changes nothing.
func (db *DB) PurgePersonalData(ctx context.Context, before time.Time) (PurgeStats, error) {
	return db.purgePersonalData(ctx, before, PurgeBatch)
}

// purgePersonalData is PurgePersonalData with batches of batch rows (tests
// use small batches to cross batch boundaries with few rows).
func (db *DB) purgePersonalData(ctx context.Context, before time.Time, batch int) (PurgeStats, error) {
	var stats PurgeStats
	for _, t := range purgeTargets() {
		n, err := db.purge(ctx, t, before, batch)
		stats.add(t.table, n)
		if err != nil {
			return stats, fmt.Errorf("store: purge %s: %w", t.table, err)
		}
	}
	return stats, nil
}

// CountPersonalData counts what PurgePersonalData(ctx, before) would change,
// changing nothing (a dry run).
func (db *DB) CountPersonalData(ctx context.Context, before time.Time) (PurgeStats, error) {
	var stats PurgeStats
	for _, t := range purgeTargets() {
		var n int64
		err := db.q(ctx).Table(t.table).Where(t.where, t.arg(before)).Count(&n).Error
		if err != nil {
			return stats, fmt.Errorf("store: count %s to purge: %w", t.table, err)
		}
		stats.add(t.table, n)
	}
	return stats, nil
}

// purge applies t in batches: it walks the due rows by id, batch at a
// time, and changes each batch in one statement that re-checks t.where, so
// a row changed meanwhile (an errand reopened, say) is left alone.
func (db *DB) purge(ctx context.Context, t purgeTarget, before time.Time, batch int) (int64, error) {
	var total int64
	var after int64
	arg := t.arg(before)
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var ids []int64
		err := db.q(ctx).Table(t.table).Where("id > ?", after).Where(t.where, arg).
			Order("id").Limit(batch).Pluck("id", &ids).Error
		if err != nil {
			return total, err
		}
		if len(ids) == 0 {
			return total, nil
		}
		after = ids[len(ids)-1]
		var res *gorm.DB
		if t.set == nil {
			res = db.q(ctx).Exec("DELETE FROM "+t.table+" WHERE id IN ? AND "+t.where, ids, arg)
		} else {
			// UpdateColumns leaves updated_at alone: a purge is no step in a
			// record's life.
			res = db.q(ctx).Table(t.table).Where("id IN ?", ids).Where(t.where, arg).
				UpdateColumns(t.set)
		}
		if res.Error != nil {
			return total, res.Error
		}
		total += res.RowsAffected
		if len(ids) < batch {
			return total, nil
		}
	}
}
