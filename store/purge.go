package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/towerbot/towerbot/pii"
)

// PurgeBatch is how many rows one statement of PurgePersonalData changes at
// most: a city's worth of old records is purged in many short statements,
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
	// Masked counts records of any kind whose free text had its phone and
	// ID numbers masked: directives, reports, score reasons, disinfection
	// areas, open errands, tenants' names and origins, senders' names,
	// handling details and error texts. A record whose other fields were
	// blanked is counted above as well.
	Masked int64
}

// Total is the sum of all counts.
func (s PurgeStats) Total() int64 {
	return s.Returns + s.Messages + s.Errands + s.Temperatures + s.Posts + s.Masked
}

// purgeTarget is one kind of record holding personal data: which rows are
// due (where, with before as its one argument) and what is done to them.
// A target blanks columns (blank: the field is personal data through and
// through), masks them (mask: the field is text that must stay readable on
// the record, so only its phone and ID numbers go, by pii.Mask), or, with
// neither, deletes the rows. For blanking and deleting, where also excludes
// rows already purged, so a second run finds nothing and counts stay
// honest; for masking, a row counts only when masking changes it.
type purgeTarget struct {
	table string
	where string
	arg   func(before time.Time) any
	stat  func(*PurgeStats) *int64
	blank map[string]any
	mask  []string
}

func utcArg(before time.Time) any { return before.UTC() }

func returnsStat(s *PurgeStats) *int64  { return &s.Returns }
func messagesStat(s *PurgeStats) *int64 { return &s.Messages }
func errandsStat(s *PurgeStats) *int64  { return &s.Errands }
func tempsStat(s *PurgeStats) *int64    { return &s.Temperatures }
func postsStat(s *PurgeStats) *int64    { return &s.Posts }
func maskedStat(s *PurgeStats) *int64   { return &s.Masked }

// purgeTargets lists the personal data and when it is due. The records
// themselves stay (留痕: who reported what, when, from which message); only
// the personal fields go, or, in text that is the record itself, the
// personal numbers in it. Temperatures are per-day health logs with nothing
// else to keep, so their rows go.
//
// Every text column of every model is either named here or in
// keptColumns; TestPurgeCoversEveryTextColumn holds the two together.
func purgeTargets() []purgeTarget {
	return []purgeTarget{
		{
			table: "tenant_returns",
			where: "created_at < ? AND (phone <> '' OR address <> '' OR health_code <> '')",
			arg:   utcArg,
			stat:  returnsStat,
			blank: map[string]any{"phone": "", "address": "", "health_code": ""},
		},
		{
			// The tenant's name and origin say who came back from where;
			// the parser may have left a phone or ID number in them.
			table: "tenant_returns",
			where: "created_at < ?",
			arg:   utcArg,
			stat:  maskedStat,
			mask:  []string{"name", "origin"},
		},
		{
			// A pending message is still to be handled (after a crash the
			// engine replays it), so it keeps its text until it is.
			table: "inbound_messages",
			// The reply handle is a platform session link, long expired
			// by then: it goes with the text.
			where: "received_at < ? AND outcome <> '" + OutcomePending + "' AND (text <> '' OR raw IS NOT NULL OR parsed <> '' OR reply_url <> '')",
			arg:   utcArg,
			stat:  messagesStat,
			blank: map[string]any{"text": "", "raw": nil, "parsed": "", "reply_url": ""},
		},
		{
			// Group nicknames often carry a phone ("3栋王五138…"); the
			// handling detail may quote what the member typed.
			table: "inbound_messages",
			where: "received_at < ? AND outcome <> '" + OutcomePending + "'",
			arg:   utcArg,
			stat:  maskedStat,
			mask:  []string{"sender_name", "detail"},
		},
		{
			// Open and claimed errands are still being worked on. A finished
			// errand is due once its last step (updated_at) is older than
			// before, so the retention runs from when it was done.
			table: "errands",
			where: "updated_at < ? AND status IN ('" + ErrandDone + "', '" + ErrandCancelled + "') AND (detail <> '' OR address <> '' OR beneficiary <> '')",
			arg:   utcArg,
			stat:  errandsStat,
			blank: map[string]any{"detail": "", "address": "", "beneficiary": ""},
		},
		{
			// An errand still open or claimed past the retention must stay
			// readable for whoever takes it up: only its numbers go.
			table: "errands",
			where: "created_at < ? AND status IN ('" + ErrandOpen + "', '" + ErrandClaimed + "')",
			arg:   utcArg,
			stat:  maskedStat,
			mask:  []string{"beneficiary", "detail", "address"},
		},
		{
			// What the bot posted repeats names, temperatures, health codes
			// and addresses (fever and health-code alerts, return replies).
			// A post still pending is yet to be sent and keeps its text.
			table: "outbox_items",
			where: "created_at < ? AND status IN ('" + OutboxSent + "', '" + OutboxFailed + "') AND text <> ''",
			arg:   utcArg,
			stat:  postsStat,
			blank: map[string]any{"text": ""},
		},
		{
			// A platform's error may echo the post it refused.
			table: "outbox_items",
			where: "created_at < ?",
			arg:   utcArg,
			stat:  maskedStat,
			mask:  []string{"last_error"},
		},
		{
			// Day is a civil date; before's own date (in before's location)
			// is the first day kept.
			table: "temperatures",
			where: "day < ?",
			arg:   func(before time.Time) any { return before.Format(time.DateOnly) },
			stat:  tempsStat,
		},
		{
			table: "score_events",
			where: "created_at < ?",
			arg:   utcArg,
			stat:  maskedStat,
			mask:  []string{"reason", "verify_reason"},
		},
		{
			table: "directives",
			where: "created_at < ?",
			arg:   utcArg,
			stat:  maskedStat,
			mask:  []string{"text"},
		},
		{
			table: "directive_reports",
			where: "created_at < ?",
			arg:   utcArg,
			stat:  maskedStat,
			mask:  []string{"text"},
		},
		{
			table: "disinfections",
			where: "created_at < ?",
			arg:   utcArg,
			stat:  maskedStat,
			mask:  []string{"area"},
		},
		{
			// A job's error may quote the data it failed on.
			table: "job_runs",
			where: "scheduled_at < ?",
			arg:   utcArg,
			stat:  maskedStat,
			mask:  []string{"error"},
		},
	}
}

// keptColumns are the text columns (table.column) that purge leaves alone,
// each with the reason. Every text column of every model is either purged
// (purgeTargets) or listed here, and TestPurgeCoversEveryTextColumn fails
// on one that is neither: a new column is decided on when it is added.
var keptColumns = map[string]string{
	"schema_migrations.name": "the name of a schema step",
	"id_blocks.name":         "the name of a table whose ids the store hands out",

	// The dashboard's logins: hashes and random tokens, no text of anyone's.
	"accounts.password_hash":     "an argon2id hash of a dashboard password",
	"login_throttles.phone_hash": "a hash of a phone typed at the login form, with its failure count",
	"web_sessions.token_hash":    "a hash of a random session token",
	"web_sessions.csrf":          "a random CSRF token",
	"login_invites.token_hash":   "a hash of a random one-time link token",
	"export_logs.kind":           "which spreadsheet was exported (daily, temperatures, …)",
	"export_logs.params":         "the date or range of an export",

	"nodes.code": "a place's roster code (FT-03)",
	"nodes.name": "a place's name: a sub-district, community, unit or house group",

	// The roster is the operator's directory of who holds a role, kept
	// current by import; retention ages records, not the directory.
	"people.name":    "the roster: a role holder's name, kept while the roster lists them (records point to the person)",
	"people.phone":   "the roster: a role holder's phone, the roster's key for the person",
	"houses.address": "the roster: a rented house's address, the roster's key for the house",

	"identities.platform": "a platform name",
	"identities.user_id":  "a platform account id: pseudonymous, how a sender is recognised",
	"memberships.role":    "a role word",
	"groups.platform":     "a platform name",
	"groups.chat_id":      "a platform group id",
	"groups.name":         "a group's name: a place or unit",
	"groups.webhook":      "a group robot's webhook URL: the group's credential, not a person's data",
	"rooms.number":        "a room number",

	"inbound_messages.platform":        "a platform name",
	"inbound_messages.platform_msg_id": "a platform message id",
	"inbound_messages.chat_id":         "a platform group id",
	"inbound_messages.sender_id":       "a platform account id (see identities.user_id)",
	"inbound_messages.kind":            "a message kind word",
	"inbound_messages.outcome":         "an outcome word",
	"outbox_items.lease_owner":         "the name of the sender holding a post's lease (a host or pod name)",
	"inbound_messages.lease_owner":     "the name of the replica handling the message (a host or pod name)",

	"errands.category":     "an errand category word",
	"errands.status":       "a status word",
	"directives.scope":     "a directive's scope word (units, all)",
	"directives.status":    "a directive's status word (open, withdrawn)",
	"errand_events.action": "an action word",

	"score_events.status": "a status word",
	"score_events.origin": "an origin word (score, late_return)",

	"disinfections.day": "a date",

	"outbox_items.origin":   "a post's origin key (msg:42:reply)",
	"outbox_items.platform": "a platform name",
	"outbox_items.mentions": "platform account ids to mention (see identities.user_id)",
	"outbox_items.status":   "a status word",

	"job_runs.job":     "a job name",
	"job_runs.replica": "a replica (host or pod) name",
	"job_runs.outcome": "an outcome word",
}

// PurgePersonalData enforces the retention of personal data (DESIGN.md:
// phones, ID numbers and health are kept only as long as configured) for
// records older than before:
//
//   - tenant returns created before it lose phone, address and health code,
//     and the phone and ID numbers in the tenant's name and origin;
//   - inbound messages received before it, once handled, lose text, raw
//     payload and parse result (kind and outcome stay), and the numbers in
//     the sender's name and the handling detail;
//   - done or cancelled errands last changed before it lose detail,
//     address and beneficiary (an elderly or sick resident's name); open
//     and claimed errands created before it keep these readable with their
//     phone and ID numbers masked;
//   - sent or failed posts of the bot created before it lose their text
//     (origin, destination and times stay); the error text of any post
//     created before it is masked;
//   - the text of directives and directive reports, the reasons of score
//     events and the area of disinfection records created before it, and
//     the error of job runs scheduled before it, are masked;
//   - temperature rows of days before before's date (in before's
//     location: pass the configured zone's midnight) are deleted.
//
// Masking is pii.Mask: a phone keeps its first 3 and last 4 digits, an ID
// number its first 6 and last 4, and the rest of the text stays as it was.
// Every record other than temperatures stays, so who reported what and
// when remains on record. Rows are read and changed in batches of
// PurgeBatch, each blanked or deleted by one statement (masked text by
// statements of maskChunk rows), so a large purge never holds a table for
// long; on an error the batches already done stay done and the stats say
// how many. A second run with the same before changes nothing.
func (db *DB) PurgePersonalData(ctx context.Context, before time.Time) (PurgeStats, error) {
	return db.purgePersonalData(ctx, before, PurgeBatch, true)
}

// CountPersonalData counts what PurgePersonalData(ctx, before) would change,
// changing nothing (a dry run). It walks the same rows the purge would.
func (db *DB) CountPersonalData(ctx context.Context, before time.Time) (PurgeStats, error) {
	return db.purgePersonalData(ctx, before, PurgeBatch, false)
}

// purgePersonalData purges (apply) or counts what a purge would change,
// with batches of batch rows (tests use small batches to cross batch
// boundaries with few rows).
func (db *DB) purgePersonalData(ctx context.Context, before time.Time, batch int, apply bool) (PurgeStats, error) {
	var stats PurgeStats
	verb := "purge"
	if !apply {
		verb = "count to purge"
	}
	for _, t := range purgeTargets() {
		var n int64
		var err error
		switch {
		case t.mask != nil:
			n, err = db.maskRows(ctx, t, before, batch, apply)
		case apply:
			n, err = db.purge(ctx, t, before, batch)
		default:
			err = db.q(ctx).Table(t.table).Where(t.where, t.arg(before)).Count(&n).Error
		}
		*t.stat(&stats) += n
		if err != nil {
			return stats, fmt.Errorf("store: %s %s: %w", verb, t.table, err)
		}
	}
	return stats, nil
}

// purge blanks or deletes t's rows in batches: it walks the due rows by
// id, batch at a time, and changes each batch in one statement that
// re-checks t.where, so a row changed meanwhile (an errand reopened, say)
// is left alone.
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
		if t.blank == nil {
			res = db.q(ctx).Exec("DELETE FROM "+t.table+" WHERE id IN ? AND "+t.where, ids, arg)
		} else {
			// UpdateColumns leaves updated_at alone: a purge is no step in a
			// record's life.
			res = db.q(ctx).Table(t.table).Where("id IN ?", ids).Where(t.where, arg).
				UpdateColumns(t.blank)
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

// maskedRow is one row whose text masking changes: its id, and each mask
// column's stored value (nil for NULL) and masked value.
type maskedRow struct {
	id       int64
	old, new []*string
}

// maskRows masks the phone and ID numbers in t's columns, or (unless
// apply) counts the rows that masking would change. It walks the due rows
// by id, batch at a time, reading only rows where a mask column holds three
// digits in a row (every phone and ID number pii recognises does), and
// writes the changes of each batch (writeMasks). Masked text stays due but
// masks to itself, so a second run changes nothing; the rows it reads again
// are those old rows with digits in them.
func (db *DB) maskRows(ctx context.Context, t purgeTarget, before time.Time, batch int, apply bool) (int64, error) {
	var total, after int64
	arg := t.arg(before)
	cols := make([]string, len(t.mask))
	for i, c := range t.mask {
		cols[i] = db.quote(c)
	}
	digits, digitArgs := db.digitRunFilter(cols)
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		rows, err := db.q(ctx).Table(t.table).Select("id, "+strings.Join(cols, ", ")).
			Where("id > ?", after).Where(t.where, arg).Where(digits, digitArgs...).
			Order("id").Limit(batch).Rows()
		if err != nil {
			return total, err
		}
		changed, read, err := scanMasks(rows, len(cols), &after)
		if err != nil {
			return total, err
		}
		if len(changed) > 0 {
			if !apply {
				total += int64(len(changed))
			} else {
				n, err := db.writeMasks(ctx, t, cols, arg, changed)
				total += n
				if err != nil {
					return total, err
				}
			}
		}
		if read < batch {
			return total, nil
		}
	}
}

// scanMasks reads a batch of (id, mask columns…) rows, closes them, and
// returns those whose masked text differs, how many rows were read, and the
// last id in *after.
func scanMasks(rows *sql.Rows, ncols int, after *int64) ([]maskedRow, int, error) {
	defer rows.Close()
	var changed []maskedRow
	read := 0
	vals := make([]sql.NullString, ncols)
	dest := make([]any, ncols+1)
	for i := range vals {
		dest[i+1] = &vals[i]
	}
	for rows.Next() {
		var id int64
		dest[0] = &id
		if err := rows.Scan(dest...); err != nil {
			return nil, read, err
		}
		read++
		*after = id
		r := maskedRow{id: id, old: make([]*string, ncols), new: make([]*string, ncols)}
		differs := false
		for i, v := range vals {
			if !v.Valid {
				continue
			}
			old, masked := v.String, pii.Mask(v.String)
			r.old[i], r.new[i] = &old, &masked
			differs = differs || masked != old
		}
		if differs {
			changed = append(changed, r)
		}
	}
	return changed, read, rows.Err()
}

// maskChunk is how many rows one statement of writeMasks changes at most:
// a statement of 1,000 CASE branches costs more to parse and bind than to
// run, while a statement per row costs a round trip each.
const maskChunk = 100

// writeMasks writes the masked values of rows, maskChunk rows a statement:
//
//	UPDATE t SET c = CASE id WHEN ? THEN ? … ELSE c END, …
//	WHERE id IN (…) AND ((id = ? AND c = ? AND …) OR …) AND t.where
//
// and returns how many rows it changed. Each statement re-checks the values
// read, so a row changed meanwhile keeps its newer text rather than being
// overwritten with its older one. Like purge it leaves updated_at alone.
func (db *DB) writeMasks(ctx context.Context, t purgeTarget, cols []string, arg any, rows []maskedRow) (int64, error) {
	var total int64
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), maskChunk)]
		rows = rows[len(chunk):]
		q, args := maskStatement(db.quote(t.table), cols, t.where, arg, chunk)
		res := db.q(ctx).Exec(q, args...)
		if res.Error != nil {
			return total, res.Error
		}
		total += res.RowsAffected
	}
	return total, nil
}

// maskStatement builds writeMasks' statement for rows of table.
func maskStatement(table string, cols []string, where string, arg any, rows []maskedRow) (string, []any) {
	var q strings.Builder
	var args []any
	q.WriteString("UPDATE " + table + " SET ")
	sets := 0
	for i, c := range cols {
		n := 0
		for _, r := range rows {
			if r.new[i] == nil || *r.new[i] == *r.old[i] {
				continue
			}
			if n == 0 {
				if sets > 0 {
					q.WriteString(", ")
				}
				q.WriteString(c + " = CASE id")
			}
			q.WriteString(" WHEN ? THEN ?")
			args = append(args, r.id, *r.new[i])
			n++
		}
		if n > 0 {
			q.WriteString(" ELSE " + c + " END")
			sets++
		}
	}
	// The id list finds the rows by key; the guard per row then needs no
	// index.
	ids := make([]int64, len(rows))
	for k, r := range rows {
		ids[k] = r.id
	}
	q.WriteString(" WHERE id IN ? AND (")
	args = append(args, ids)
	for k, r := range rows {
		if k > 0 {
			q.WriteString(" OR ")
		}
		q.WriteString("(id = ?")
		args = append(args, r.id)
		for i, c := range cols {
			if r.old[i] == nil {
				q.WriteString(" AND " + c + " IS NULL")
				continue
			}
			q.WriteString(" AND " + c + " = ?")
			args = append(args, *r.old[i])
		}
		q.WriteString(")")
	}
	q.WriteString(") AND (" + where + ")")
	return q.String(), append(args, arg)
}

// digitRunFilter returns a condition (and its arguments) true for rows
// where one of cols holds three digits in a row, ASCII or full-width.
func (db *DB) digitRunFilter(cols []string) (string, []any) {
	op, pattern := "GLOB", "*[0-9０-９][0-9０-９][0-9０-９]*"
	if db.driver == DriverMySQL {
		op, pattern = "REGEXP", "[0-9０-９]{3}"
	}
	conds := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, c := range cols {
		conds[i] = c + " " + op + " ?"
		args[i] = pattern
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// quote quotes a table or column name for the database.
func (db *DB) quote(name string) string {
	var b strings.Builder
	db.gdb.Dialector.QuoteTo(&b, name)
	return b.String()
}
