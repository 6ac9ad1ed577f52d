package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Column limits of the message log, checked here so that MySQL (which
// rejects an oversized value in strict mode) and SQLite (which would keep
// it) behave alike.
const (
	maxBlob   = 65535 // TEXT and BLOB on MySQL
	maxDetail = 512
)

// SaveInbound stores one inbound message before it is acknowledged: it is
// SaveInbounds with a batch of one. Outcome defaults to OutcomePending and
// ReceivedAt to the store's clock; a zero SentAt takes ReceivedAt. When
// the message was stored before — the same (Platform, PlatformMsgID), e.g.
// a platform retrying its callback — the stored row is loaded into *m and
// created is false: the unique key is the dedupe backstop behind the kv
// check. A sender name too long for its column is shortened rather than
// refused, so a message is never lost over a display name.
func (db *DB) SaveInbound(ctx context.Context, m *InboundMessage) (created bool, err error) {
	c, err := db.SaveInbounds(ctx, []*InboundMessage{m})
	if err != nil {
		return false, err
	}
	return c[0], nil
}

// prepareInbound sets what SaveInbound and SaveInbounds store besides what
// the caller gave: the defaults, and times in whole milliseconds.
func prepareInbound(db *DB, m *InboundMessage) {
	m.SenderName = truncateRunes(m.SenderName, 128)
	if m.Outcome == "" {
		m.Outcome = OutcomePending
	}
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = db.Now()
	}
	// Whole milliseconds, cut rather than rounded: MySQL keeps DATETIME(3)
	// and MySQL 8 rounds finer values, which could move a message received
	// at 23:59:59.9996 into the next day. ReceivedAt is the moment civil
	// dates are read from, so the stored value must equal the one in *m.
	m.ReceivedAt = m.ReceivedAt.UTC().Truncate(time.Millisecond)
	if m.SentAt.IsZero() {
		// A platform that gives no send time: MySQL 8 refuses a zero date.
		m.SentAt = m.ReceivedAt
	}
	m.SentAt = m.SentAt.UTC()
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.ReceivedAt
	}
	m.NextAttemptAt = storedTime(m.NextAttemptAt)
	m.Attempts = 0
	m.ID = 0
}

// SaveInbounds stores a batch of inbound messages in one transaction — one
// multi-row insert — and reports for each whether it was new. A message
// stored before (the same platform message id: a platform retrying, or a
// duplicate inside the batch) is not stored again: its stored row is
// loaded into it and created is false for it, without failing the others.
// Each message is prepared as SaveInbound prepares it; one that cannot be
// stored at all fails the whole call, so the caller checks messages first.
// A rival replica storing one of the same messages at the same moment
// makes the unit run again (Atomic), and the second run finds it.
func (db *DB) SaveInbounds(ctx context.Context, ms []*InboundMessage) (created []bool, err error) {
	if len(ms) == 0 {
		return nil, nil
	}
	if db.driver == DriverSQLite && !InUnit(ctx) {
		// The ids' counter and the rows in one transaction: one commit
		// (and one fsync) for both.
		err := db.Atomic(ctx, func(ctx context.Context) error {
			created, err = db.SaveInbounds(ctx, ms)
			return err
		})
		return created, err
	}
	if err := db.prepareInbounds(ctx, ms); err != nil {
		return nil, err
	}
	created = make([]bool, len(ms))
	// Duplicates are rare (kv dedupes ahead of the store): first insert
	// the batch without looking; only when the unique key refuses a row
	// does the unit run again, reading the stored rows first. A batch
	// that fits one statement needs no transaction around it — a
	// statement is stored whole or not at all — which saves the BEGIN and
	// COMMIT round trips. A unit run again (a rival's row, or a row
	// QueueInbounds queued, refused) reads first.
	optimistic := !rerun(ctx)
	if !InUnit(ctx) && len(ms) <= chunk {
		optimistic = false
		switch err := insertInbounds(db.gdb.WithContext(ctx), ms); {
		case err == nil:
			for i := range created {
				created[i] = true
			}
			return created, nil
		case !isDuplicate(err):
			return nil, fmt.Errorf("store: save inbound batch: %w", err)
		}
	}
	err = db.tx(ctx, func(tx *gorm.DB) error {
		clear(created)
		type key struct{ platform, id string }
		stored := map[key]InboundMessage{}
		if optimistic {
			// A refused row fails the unit, which runs again below.
			optimistic = false
			if err := insertInbounds(tx, ms); err != nil {
				return err
			}
			for i := range created {
				created[i] = true
			}
			return nil
		}
		byPlatform := map[string][]string{}
		for _, m := range ms {
			byPlatform[m.Platform] = append(byPlatform[m.Platform], m.PlatformMsgID)
		}
		for pl, ids := range byPlatform {
			var rows []InboundMessage
			if err := tx.Where("platform = ? AND platform_msg_id IN ?", pl, ids).Find(&rows).Error; err != nil {
				return err
			}
			for _, r := range rows {
				stored[key{r.Platform, r.PlatformMsgID}] = r
			}
		}
		var fresh []InboundMessage
		var freshAt []int
		seen := map[key]int{}
		for i, m := range ms {
			k := key{m.Platform, m.PlatformMsgID}
			if _, ok := stored[k]; ok {
				continue
			}
			if _, ok := seen[k]; ok {
				continue // twice in the batch: the first is stored
			}
			seen[k] = i
			fresh = append(fresh, *m) // with the id it was given
			freshAt = append(freshAt, i)
		}
		if len(fresh) > 0 {
			if err := tx.CreateInBatches(&fresh, chunk).Error; err != nil {
				return err
			}
		}
		for j, i := range freshAt {
			created[i] = true
			stored[key{fresh[j].Platform, fresh[j].PlatformMsgID}] = fresh[j]
		}
		for i, m := range ms {
			if !created[i] {
				*m = stored[key{m.Platform, m.PlatformMsgID}]
			} else {
				m.ID = stored[key{m.Platform, m.PlatformMsgID}].ID
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: save inbound batch: %w", err)
	}
	return created, nil
}

// QueueInbounds stores messages ms as ctx's unit of work commits, rather
// than at once: each is given its id now, so that what handling it writes
// names it, and is written once, as it stands then — with the outcome
// FinishInbounds records for it in the same unit, which then goes into
// its row rather than into an UPDATE after it. Should a statement of the
// unit read the message log before, the rows are written first (as any
// rows queued: see later.go), and their outcomes by an UPDATE as usual.
//
// Whether a message was stored before is known only as the unit commits:
// the unique key then refuses its row, the unit fails as on any race
// (Retryable), and Atomic runs it again — where QueueInbounds stores at
// once, as SaveInbounds does, and reports those stored before (created
// false, their stored row loaded into them). On a unit's first run,
// created is true for every message. Outside a unit, it is SaveInbounds.
func (db *DB) QueueInbounds(ctx context.Context, ms []*InboundMessage) (created []bool, err error) {
	if !InUnit(ctx) || rerun(ctx) {
		return db.SaveInbounds(ctx, ms)
	}
	if err := db.prepareInbounds(ctx, ms); err != nil {
		return nil, err
	}
	rows := make([]*InboundMessage, len(ms))
	created = make([]bool, len(ms))
	for i, m := range ms {
		row := *m // the unit's own copy, which its outcome is written into
		rows[i] = &row
		created[i] = true
	}
	if err := writeLater(ctx, db, queuedInbounds, inboundInserts, rows...); err != nil {
		return nil, err
	}
	return created, nil
}

// queuedInbounds is the table QueueInbounds queues rows of.
const queuedInbounds = "inbound_messages"

// finishQueued records the results fs of messages whose rows ctx's unit
// queued (QueueInbounds) and has not written yet into those rows, and
// returns the others, whose rows are stored and need an UPDATE.
func finishQueued(ctx context.Context, db *DB, fs []Finished) ([]Finished, error) {
	u, ok := ctx.Value(unitKey{}).(*unit)
	if !ok {
		return fs, nil
	}
	var queued *laterRows[*InboundMessage]
	for _, l := range u.later {
		if q, ok := l.(*laterRows[*InboundMessage]); ok && q.name == queuedInbounds {
			queued = q
		}
	}
	if queued == nil || queued.written == len(queued.rows) {
		return fs, nil
	}
	byID := make(map[int64]*InboundMessage, len(queued.rows)-queued.written)
	for _, m := range queued.rows[queued.written:] {
		byID[m.ID] = m
	}
	rest := fs[:0:0]
	for _, f := range fs {
		m := byID[f.ID]
		if m == nil {
			rest = append(rest, f)
			continue
		}
		if m.Outcome != OutcomePending {
			return nil, fmt.Errorf("store: finish inbound batch: message %d finished twice: %w", f.ID, ErrHandled)
		}
		r, err := finishedAs(db, f.ID, f.Result)
		if err != nil {
			return nil, err
		}
		m.Kind, m.Parsed, m.Outcome, m.Detail, m.HandledAt, m.LeaseOwner = r.Kind, r.Parsed, r.Outcome, r.Detail, &r.HandledAt, ""
		if r.GroupID != nil {
			m.GroupID = r.GroupID
		}
		if r.PersonID != nil {
			m.PersonID = r.PersonID
		}
	}
	return rest, nil
}

// prepareInbounds checks and prepares messages ms for storing, each as
// SaveInbound prepares it, and gives each an id of its own.
func (db *DB) prepareInbounds(ctx context.Context, ms []*InboundMessage) error {
	for _, m := range ms {
		if err := checkInbound(m); err != nil {
			return err
		}
		prepareInbound(db, m)
	}
	ids, err := db.newInboundIDs(ctx, len(ms))
	if err != nil {
		return err
	}
	for i, m := range ms {
		m.ID = ids[i]
	}
	return nil
}

func checkInbound(m *InboundMessage) error {
	var bad string
	switch {
	case m.Platform == "" || len(m.Platform) > 16:
		bad = fmt.Sprintf("platform %q must be 1 to 16 bytes", m.Platform)
	case m.PlatformMsgID == "" || utf8.RuneCountInString(m.PlatformMsgID) > 128:
		bad = "platform message id must be 1 to 128 characters"
	case utf8.RuneCountInString(m.ChatID) > 128:
		bad = "chat id is longer than 128 characters"
	case utf8.RuneCountInString(m.SenderID) > 128:
		bad = "sender id is longer than 128 characters"
	case len(m.Text) > maxBlob:
		bad = fmt.Sprintf("text is %d bytes, more than %d", len(m.Text), maxBlob)
	case len(m.Raw) > maxBlob:
		bad = fmt.Sprintf("raw payload is %d bytes, more than %d", len(m.Raw), maxBlob)
	case utf8.RuneCountInString(m.ReplyURL) > 1024:
		bad = "reply URL is longer than 1024 characters"
	case utf8.RuneCountInString(m.LeaseOwner) > 64:
		bad = "lease owner is longer than 64 characters"
	case m.Outcome != "" && !validOutcome(m.Outcome):
		bad = fmt.Sprintf("unknown outcome %q", m.Outcome)
	default:
		return nil
	}
	return fmt.Errorf("store: inbound message: %s", bad)
}

func validOutcome(o string) bool {
	switch o {
	case OutcomePending, OutcomeOK, OutcomeNone, OutcomeInvalid, OutcomeRefused, OutcomeConflict, OutcomeError:
		return true
	}
	return false
}

// truncateRunes cuts s to at most n characters (a VARCHAR(n) holds n
// characters on MySQL), never splitting one.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

// InboundByID returns the stored message with id.
func (db *DB) InboundByID(ctx context.Context, id int64) (*InboundMessage, error) {
	return byID[InboundMessage](ctx, db, id, "inbound message")
}

// InboundResult is what handling a message produced, written back to its
// log row by FinishInbound.
type InboundResult struct {
	Kind      string    // the parsed kind ("" when not parsed)
	Parsed    string    // the parse result as JSON
	Outcome   string    // one of the Outcome constants
	Detail    string    // why: the refusal, the error (cut to fit its column)
	GroupID   *int64    // the resolved group; nil keeps what is stored
	PersonID  *int64    // the resolved sender; nil keeps what is stored
	HandledAt time.Time // zero: the store's clock
}

// FinishInbound records the parse result and handling outcome of message
// id: the 留痕 of what the bot made of it.
func (db *DB) FinishInbound(ctx context.Context, id int64, r InboundResult) error {
	set, err := finishSet(db, id, r)
	if err != nil {
		return err
	}
	res := db.q(ctx).Model(&InboundMessage{}).Where("id = ? AND outcome = ?", id, OutcomePending).Updates(set)
	if res.Error != nil {
		return fmt.Errorf("store: finish inbound %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := db.InboundByID(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("store: finish inbound %d: %w", id, ErrHandled)
	}
	return nil
}

// finishSet checks result r of message id and returns the columns it sets.
func finishSet(db *DB, id int64, r InboundResult) (map[string]any, error) {
	r, err := finishedAs(db, id, r)
	if err != nil {
		return nil, err
	}
	set := map[string]any{
		"kind":        r.Kind,
		"parsed":      r.Parsed,
		"outcome":     r.Outcome,
		"detail":      r.Detail,
		"handled_at":  r.HandledAt,
		"lease_owner": "",
	}
	if r.GroupID != nil {
		set["group_id"] = *r.GroupID
	}
	if r.PersonID != nil {
		set["person_id"] = *r.PersonID
	}
	return set, nil
}

// finishedAs checks result r of message id and returns it as it is
// stored: the detail cut to fit, the handling time the store's clock's
// when r gives none, in UTC.
func finishedAs(db *DB, id int64, r InboundResult) (InboundResult, error) {
	switch {
	case !validOutcome(r.Outcome) || r.Outcome == OutcomePending:
		return r, fmt.Errorf("store: finish inbound %d: %q is not an outcome to finish with", id, r.Outcome)
	case len(r.Kind) > 32:
		return r, fmt.Errorf("store: finish inbound %d: kind %q is longer than 32 bytes", id, r.Kind)
	case len(r.Parsed) > maxBlob:
		return r, fmt.Errorf("store: finish inbound %d: parse result is %d bytes, more than %d", id, len(r.Parsed), maxBlob)
	}
	if r.HandledAt.IsZero() {
		r.HandledAt = db.Now()
	}
	r.HandledAt = r.HandledAt.UTC()
	r.Detail = truncateRunes(r.Detail, maxDetail)
	return r, nil
}

// Finished is a message's result, for FinishInbounds.
type Finished struct {
	ID     int64
	Result InboundResult
}

// FinishInbounds records the results of several messages in one statement
// — a batch handled in one transaction — each as FinishInbound would. The
// statement is written as ctx's unit of work commits, with the unit's
// other queued writes (writeLater: in one round trip on MySQL). When any
// of the messages is no longer pending (another replica recorded it
// first) the commit fails with an error wrapping ErrHandled: the caller
// handles them one at a time.
func (db *DB) FinishInbounds(ctx context.Context, fs []Finished) error {
	if len(fs) == 0 {
		return nil
	}
	if len(fs) == 1 && !InUnit(ctx) {
		return db.FinishInbound(ctx, fs[0].ID, fs[0].Result)
	}
	fs, err := finishQueued(ctx, db, fs)
	if err != nil || len(fs) == 0 {
		return err
	}
	sets := make([]finishing, len(fs))
	for i, f := range fs {
		set, err := finishSet(db, f.ID, f.Result)
		if err != nil {
			return err
		}
		sets[i] = finishing{f.ID, set}
	}
	return writeLater(ctx, db, "inbound_messages", finishWrites, sets...)
}

// finishing is a message FinishInbounds queued: its id and the columns
// its outcome sets (finishSet), worked out once, as the call was made.
type finishing struct {
	id  int64
	set map[string]any
}

// finishWrites are the statements FinishInbounds writes: each of up to
// chunk messages, checked to have finished every one.
func finishWrites(db *DB, fs []finishing) []statement {
	var out []statement
	for len(fs) > 0 {
		n := min(len(fs), chunk)
		out = append(out, finishStatement(fs[:n]))
		fs = fs[n:]
	}
	return out
}

// finishStatement is the UPDATE that finishes messages fs: a CASE on the
// id per column, over those still pending.
func finishStatement(fs []finishing) statement {
	cols := []string{"kind", "parsed", "outcome", "detail", "handled_at", "group_id", "person_id"}
	cases := make(map[string][]any, len(cols))
	ids := make([]int64, len(fs))
	for i, f := range fs {
		ids[i] = f.id
		for _, c := range cols {
			if v, ok := f.set[c]; ok {
				cases[c] = append(cases[c], f.id, v)
			}
		}
	}
	var sql strings.Builder
	var args []any
	sql.WriteString("UPDATE inbound_messages SET lease_owner = ''")
	for _, c := range cols {
		if len(cases[c]) == 0 {
			continue
		}
		sql.WriteString(", " + c + " = CASE id")
		for range len(cases[c]) / 2 {
			sql.WriteString(" WHEN ? THEN ?")
		}
		sql.WriteString(" ELSE " + c + " END")
		args = append(args, cases[c]...)
	}
	sql.WriteString(" WHERE id IN (")
	for i, id := range ids {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("?")
		args = append(args, id)
	}
	sql.WriteString(") AND outcome = ?")
	args = append(args, OutcomePending)
	want := int64(len(fs))
	return statement{sql: sql.String(), args: args, check: func(affected int64) error {
		if affected < want {
			return fmt.Errorf("store: finish inbound batch: %d of %d still pending: %w", affected, want, ErrHandled)
		}
		return nil
	}}
}

// ErrHandled says a message is no longer pending: another worker (or
// replica) recorded its outcome first. The caller must drop what it did,
// which the other handling did already.
var ErrHandled = errors.New("message already handled")

// ClaimInbound leases pending message m, as read (its NextAttemptAt is the
// lease or retry time it had), to owner until until, by an update
// conditional on both: of several replicas sweeping the same message, one
// gets it. It reports whether this caller did; m then carries the lease.
func (db *DB) ClaimInbound(ctx context.Context, m *InboundMessage, owner string, until time.Time) (bool, error) {
	until = storedTime(until)
	res := db.q(ctx).Model(&InboundMessage{}).
		Where("id = ? AND outcome = ? AND next_attempt_at = ?", m.ID, OutcomePending, storedTime(m.NextAttemptAt)).
		Updates(map[string]any{"next_attempt_at": until, "lease_owner": owner})
	if res.Error != nil {
		return false, fmt.Errorf("store: claim inbound %d: %w", m.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return false, nil
	}
	m.NextAttemptAt, m.LeaseOwner = until, owner
	return true, nil
}

// RetryInbound records a failed attempt at pending message id: it has now
// failed attempts times, waits until next, and detail says why (cut to
// fit). The lease is given up, so that whichever replica sweeps first
// after next runs it again.
func (db *DB) RetryInbound(ctx context.Context, id int64, attempts int, next time.Time, detail string) error {
	res := db.q(ctx).Model(&InboundMessage{}).Where("id = ? AND outcome = ?", id, OutcomePending).
		Updates(map[string]any{"attempts": attempts, "next_attempt_at": storedTime(next),
			"detail": truncateRunes(detail, maxDetail), "lease_owner": ""})
	if res.Error != nil {
		return fmt.Errorf("store: retry inbound %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := db.InboundByID(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("store: retry inbound %d: %w", id, ErrHandled)
	}
	return nil
}

// DueInbound returns up to limit pending messages due at now (their lease
// or retry wait is over) that come after (afterDue, afterID) in
// (next_attempt_at, id) order: what a sweep takes over. Paging by the last
// row keeps messages that stay pending from hiding the ones behind them.
func (db *DB) DueInbound(ctx context.Context, now, afterDue time.Time, afterID int64, limit int) ([]InboundMessage, error) {
	if limit <= 0 {
		return nil, errors.New("store: due inbound: limit must be positive")
	}
	q := db.q(ctx).Where("outcome = ? AND next_attempt_at <= ?", OutcomePending, storedTime(now))
	if !afterDue.IsZero() || afterID != 0 {
		at := storedTime(afterDue)
		q = q.Where("(next_attempt_at > ? OR (next_attempt_at = ? AND id > ?))", at, at, afterID)
	}
	var out []InboundMessage
	if err := q.Order("next_attempt_at, id").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("store: due inbound: %w", err)
	}
	return out, nil
}

// LeasedInbound returns up to limit pending messages leased to owner with
// an id above afterID, by id: after a restart, the messages this replica
// had taken before it stopped, which nobody else may take until their
// lease runs out.
func (db *DB) LeasedInbound(ctx context.Context, owner string, afterID int64, limit int) ([]InboundMessage, error) {
	if owner == "" || limit <= 0 {
		return nil, errors.New("store: leased inbound: need an owner and a positive limit")
	}
	var out []InboundMessage
	err := db.q(ctx).Where("outcome = ? AND lease_owner = ? AND id > ?", OutcomePending, owner, afterID).
		Order("id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: leased inbound: %w", err)
	}
	return out, nil
}

// CountPending counts the messages still pending, and how many of those
// have failed at least once: what /metrics reports.
func (db *DB) CountPending(ctx context.Context) (pending, retried int64, err error) {
	var row struct{ Pending, Retried int64 }
	err = db.q(ctx).Model(&InboundMessage{}).
		Select("COUNT(*) AS pending, COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0) AS retried").
		Where("outcome = ?", OutcomePending).Scan(&row).Error
	if err != nil {
		return 0, 0, fmt.Errorf("store: count pending: %w", err)
	}
	return row.Pending, row.Retried, nil
}

// insertInbounds inserts ms as new rows, with the ids they were given;
// the unique key refuses the whole call if any is stored.
func insertInbounds(tx *gorm.DB, ms []*InboundMessage) error {
	// Straight to the connection, as a write through gorm would after its
	// callbacks: the unit's pending savepoints first.
	if takeSavepoints(tx); tx.Error != nil {
		return tx.Error
	}
	for _, st := range inboundInserts(nil, ms) {
		if _, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, st.sql, st.args...); err != nil {
			return tx.AddError(err) // as gorm would: a taken key is ErrDuplicatedKey
		}
	}
	return nil
}

// inboundInserts are the multi-row INSERTs of messages ms, up to chunk
// each. They are built here rather than by gorm, whose reflection over
// the message's columns cost more than the rest of storing a batch.
func inboundInserts(_ *DB, ms []*InboundMessage) []statement {
	var out []statement
	for len(ms) > 0 {
		n := min(len(ms), chunk)
		var b strings.Builder
		b.WriteString("INSERT INTO inbound_messages (" + inboundColumns + ") VALUES ")
		args := make([]any, 0, n*inboundColumnCount)
		for i, m := range ms[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(inboundPlaceholders)
			args = append(args, m.ID, m.Platform, m.PlatformMsgID, m.ChatID, m.SenderID, m.SenderName, m.GroupID, m.PersonID,
				m.Text, m.Raw, m.SentAt, m.ReceivedAt, m.Kind, m.Parsed, m.Mentioned, m.Outcome, m.Detail, m.HandledAt,
				m.Attempts, m.NextAttemptAt, m.LeaseOwner, m.ReplyURL, m.ReplyUntil)
		}
		out = append(out, statement{sql: b.String(), args: args})
		ms = ms[n:]
	}
	return out
}

// inboundColumns are the columns insertInbounds writes: every one, the id
// (newInboundIDs) too.
const inboundColumns = "id, platform, platform_msg_id, chat_id, sender_id, sender_name, group_id, person_id, text, raw, " +
	"sent_at, received_at, kind, parsed, mentioned, outcome, detail, handled_at, attempts, next_attempt_at, " +
	"lease_owner, reply_url, reply_until"

var inboundColumnCount = strings.Count(inboundColumns, ",") + 1

var inboundPlaceholders = "(?" + strings.Repeat(", ?", inboundColumnCount-1) + ")"

// ReplyHandle is where a reply to a stored message may be posted, and until
// when (zero: unknown). ChatID is the chat the message came from: the
// handle posts there, so a post to another group (an alert the message
// caused higher up) must not use it. For a 1:1 message it is the
// conversation's DirectChatID, the chat id of the group its reply goes to.
type ReplyHandle struct {
	URL    string
	Until  time.Time
	ChatID string
}

// ReplyHandles returns the reply handles of the given messages, keyed by
// message id; a message without one (or unknown) is absent. One statement,
// for a batch of posts about to be sent.
func (db *DB) ReplyHandles(ctx context.Context, messageIDs []int64) (map[int64]ReplyHandle, error) {
	out := map[int64]ReplyHandle{}
	if len(messageIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		ID         int64
		ReplyURL   string
		ReplyUntil *time.Time
		ChatID     string
		SenderID   string
	}
	if err := db.q(ctx).Model(&InboundMessage{}).Select("id, reply_url, reply_until, chat_id, sender_id").
		Where("id IN ? AND reply_url <> ''", messageIDs).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: reply handles: %w", err)
	}
	for _, r := range rows {
		h := ReplyHandle{URL: r.ReplyURL, ChatID: r.ChatID}
		if h.ChatID == "" && r.SenderID != "" {
			h.ChatID = DirectChatID(r.SenderID) // a 1:1 message is stored with no chat id, as received
		}
		if r.ReplyUntil != nil {
			h.Until = r.ReplyUntil.UTC()
		}
		out[r.ID] = h
	}
	return out, nil
}
