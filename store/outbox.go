package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// storedTime is how outbox and job-run times are written: UTC, whole
// milliseconds. MySQL keeps DATETIME(3) and MySQL 8 rounds finer values,
// so a time read back must equal the time written for the conditional
// updates below (WHERE next_attempt_at = <what I read>) to work on both
// databases; SQLite compares the UTC text form.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// EnqueueOutbox queues posts in one transaction — inside a unit of work,
// the unit's: they are written together with the unit's other posts when
// it commits, and not at all when it rolls back. Each item gets Status
// pending and, when zero, NextAttemptAt = now. An item with a LeaseOwner
// is queued leased to that sender until its NextAttemptAt: the sender
// reads it back by that lease (LeasedOutbox) instead of leasing it, and
// nobody else takes it before the lease ends. An item whose (Origin,
// GroupID) is already queued is silently skipped, so a replayed message or
// job never posts twice. Invalid items (no origin, group, platform or
// text, an owner too long, a lease with no end) fail the whole call and
// nothing is queued.
func (db *DB) EnqueueOutbox(ctx context.Context, items ...OutboxItem) error {
	if len(items) == 0 {
		return nil
	}
	now := storedTime(db.Now())
	rows := make([]OutboxItem, len(items)) // a copy: the insert writes ids into it
	for i, it := range items {
		if err := checkOutboxItem(it); err != nil {
			return fmt.Errorf("store: enqueue outbox item %d: %w", i, err)
		}
		it.ID = 0
		it.Status = OutboxPending
		it.Attempts = 0
		it.LastError = ""
		it.SentAt = nil
		it.Mentions = it.Mentions.Unique()
		if it.NextAttemptAt.IsZero() {
			it.NextAttemptAt = now
		}
		it.NextAttemptAt = storedTime(it.NextAttemptAt)
		rows[i] = it
	}
	// Written with the unit's other posts when it commits: one insert for
	// all the posts a batch of messages causes.
	return db.Atomic(ctx, func(ctx context.Context) error {
		u := ctx.Value(unitKey{}).(*unit)
		u.outbox = append(u.outbox, rows...)
		return nil
	})
}

// outboxInserts are the statements that write prepared outbox rows,
// skipping any whose (origin, group) is queued already.
func outboxInserts(db *DB, rows []OutboxItem) []statement {
	now := storedTime(db.Now())
	return insertsSkippingTaken(db, "outbox_items", "origin, group_id, message_id, platform, text, mentions, urgent, status, "+
		"attempts, next_attempt_at, lease_owner, last_error, created_at, sent_at", "origin, group_id", rows,
		func(it OutboxItem) []any {
			created := it.CreatedAt
			if created.IsZero() {
				created = now
			}
			return []any{it.Origin, it.GroupID, it.MessageID, it.Platform, it.Text, it.Mentions, it.Urgent, it.Status,
				it.Attempts, it.NextAttemptAt, it.LeaseOwner, it.LastError, storedTime(created), it.SentAt}
		})
}

func checkOutboxItem(it OutboxItem) error {
	switch {
	case it.Origin == "" || utf8.RuneCountInString(string(it.Origin)) > 128:
		return fmt.Errorf("origin %q must be 1 to 128 characters", it.Origin)
	case it.GroupID <= 0:
		return errors.New("no group")
	case it.Platform == "" || len(it.Platform) > 16:
		return fmt.Errorf("platform %q must be 1 to 16 bytes", it.Platform)
	case strings.TrimSpace(it.Text) == "":
		return errors.New("empty text")
	case len(it.Text) > maxBlob:
		return fmt.Errorf("text is %d bytes, more than %d", len(it.Text), maxBlob)
	case utf8.RuneCountInString(strings.Join(it.Mentions, ",")) > 1024:
		return errors.New("mentions are longer than 1024 characters")
	case len(it.LeaseOwner) > 64:
		return fmt.Errorf("lease owner %q is longer than 64 bytes", it.LeaseOwner)
	case it.LeaseOwner != "" && it.NextAttemptAt.IsZero():
		return fmt.Errorf("leased to %q with no end to the lease", it.LeaseOwner)
	}
	return nil
}

// LeaseOutbox hands out up to limit pending items of platform that are due
// at now, urgent first, then oldest, leased to owner until now+lease: one
// statement takes them all (WHERE they are still pending and due), so two
// senders draining the same outbox never get the same item, and an item
// whose sender dies is handed out again once the lease runs out. A post
// waits while an older post of its group waits for a retry (it failed at
// least once and is not due, or is being retried), so that a group's
// posts go out in the order they were queued even when the one that
// failed and the ones behind it were leased apart — except urgent posts,
// and a message's own answers (Origin.AnswersMessage), which neither wait
// nor hold others up: they go by the message's reply handle, a route of
// their own, and the sender waits for them. Only when
// a rival took some of them first are the ones taken here read back (by
// owner and lease end). The sender then calls MarkOutboxSent or
// MarkOutboxRetry. owner must be unique to the sender (a replica name and
// a nonce).
func (db *DB) LeaseOutbox(ctx context.Context, platform, owner string, now time.Time, lease time.Duration, limit int) ([]OutboxItem, error) {
	if platform == "" || owner == "" || len(owner) > 64 || limit <= 0 || lease < time.Millisecond {
		return nil, fmt.Errorf("store: lease outbox: need a platform, an owner, a positive limit and a lease of at least 1ms (got %q, %q, %d, %v)",
			platform, owner, limit, lease)
	}
	now = now.UTC()
	until := storedTime(now.Add(lease))
	// Each group's first post waiting for a retry is found once, from the
	// few posts that failed (ix_outbox_waiting), and joined to the posts
	// due: a test per post due against the group's posts (NOT EXISTS) cost
	// seconds a pass once a few groups had a backlog of thousands.
	var due []OutboxItem
	err := db.q(ctx).Raw("SELECT o.* FROM outbox_items AS o LEFT JOIN"+
		" (SELECT group_id, MIN(id) AS first_id FROM outbox_items WHERE status = ? AND attempts > 0 AND next_attempt_at > ?"+
		" AND NOT "+answerSQL("origin")+" GROUP BY group_id) AS waiting ON waiting.group_id = o.group_id"+
		" WHERE o.platform = ? AND o.status = ? AND o.next_attempt_at <= ?"+
		" AND (o.urgent = ? OR "+answerSQL("o.origin")+" OR waiting.first_id IS NULL OR o.id < waiting.first_id)"+
		" ORDER BY o.urgent DESC, o.id LIMIT ?",
		OutboxPending, now, platform, OutboxPending, now, true, limit).Scan(&due).Error
	if err != nil || len(due) == 0 {
		return nil, wrapErr("store: lease outbox", err)
	}
	ids := make([]int64, len(due))
	for i, it := range due {
		ids[i] = it.ID
	}
	res := db.q(ctx).Model(&OutboxItem{}).
		Where("id IN ? AND status = ? AND next_attempt_at <= ?", ids, OutboxPending, now).
		Updates(map[string]any{"next_attempt_at": until, "lease_owner": owner})
	if res.Error != nil {
		return nil, fmt.Errorf("store: lease outbox: %w", res.Error)
	}
	if int(res.RowsAffected) == len(due) {
		for i := range due {
			due[i].NextAttemptAt, due[i].LeaseOwner = until, owner
		}
		return due, nil
	}
	var got []OutboxItem // a rival took some first
	err = db.q(ctx).Where("id IN ? AND status = ? AND next_attempt_at = ? AND lease_owner = ?", ids, OutboxPending, until, owner).
		Order("urgent DESC, id").Find(&got).Error
	return got, wrapErr("store: lease outbox", err)
}

// Lease is one lease on outbox items: the sender holding it and its end.
type Lease struct {
	Owner string
	Until time.Time
}

// LeasedOutbox returns the pending items of platform held under any of
// leases, urgent first, then oldest: the posts queued already leased to
// a sender (EnqueueOutbox), which it reads back once they are committed
// — one indexed read for the posts of many units, where leasing them
// would take a search and a write. An item another sender took over
// once its lease ended is not among them.
func (db *DB) LeasedOutbox(ctx context.Context, platform string, leases []Lease) ([]OutboxItem, error) {
	if len(leases) == 0 {
		return nil, nil
	}
	owners := make([]string, len(leases))
	ends := make([]time.Time, len(leases))
	held := make(map[Lease]bool, len(leases))
	for i, l := range leases {
		owners[i], ends[i] = l.Owner, storedTime(l.Until)
		held[Lease{l.Owner, ends[i]}] = true
	}
	var found []OutboxItem
	err := db.q(ctx).Where("platform = ? AND status = ? AND next_attempt_at IN ? AND lease_owner IN ?", platform, OutboxPending, ends, owners).
		Order("urgent DESC, id").Find(&found).Error
	if err != nil {
		return nil, fmt.Errorf("store: leased outbox: %w", err)
	}
	out := found[:0]
	for _, it := range found {
		if held[Lease{it.LeaseOwner, storedTime(it.NextAttemptAt)}] {
			out = append(out, it)
		}
	}
	return out, nil
}

// TakeBackOutbox leases to lease the answers that an earlier sender of
// the same replica held under leases of that kind (LeasedOutbox) when it
// stopped — a crash between their commit and their send — and returns
// them, so that a restart sends them at once rather than when their
// leases end. prefix is the replica's part of its senders' owners (the
// part before the nonce: see bot.Sender); lease.Owner is this sender's
// own. Only a message's answers never tried are taken: a post waiting
// for a retry, or any other post, keeps its time.
func (db *DB) TakeBackOutbox(ctx context.Context, platform, prefix string, lease Lease, now time.Time) ([]OutboxItem, error) {
	if prefix == "" || lease.Owner == "" || lease.Until.IsZero() {
		return nil, fmt.Errorf("store: take back outbox: need a replica, an owner and a lease end (got %q, %q, %v)", prefix, lease.Owner, lease.Until)
	}
	var held []OutboxItem
	err := db.q(ctx).Where("platform = ? AND status = ? AND next_attempt_at > ? AND attempts = 0 AND lease_owner LIKE ? ESCAPE '!' AND "+
		answerSQL("origin"), platform, OutboxPending, now.UTC(), escapeLike(prefix)+"-________/%").Find(&held).Error
	if err != nil {
		return nil, fmt.Errorf("store: take back outbox: %w", err)
	}
	own, _, _ := strings.Cut(lease.Owner, "/")
	held = slices.DeleteFunc(held, func(it OutboxItem) bool { return strings.HasPrefix(it.LeaseOwner, own+"/") })
	if len(held) == 0 {
		return nil, nil
	}
	if _, err := db.updateLeased(ctx, held, map[string]any{"lease_owner": lease.Owner, "next_attempt_at": storedTime(lease.Until)}); err != nil {
		return nil, fmt.Errorf("store: take back outbox: %w", err)
	}
	return db.LeasedOutbox(ctx, platform, []Lease{lease})
}

// wrapErr is err prefixed by what, or nil.
func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// MarkOutboxSentBatch records that the leased items were delivered at at,
// in one statement, and returns how many it marked: an item whose lease
// is no longer the caller's (another sender took it over) is left alone.
func (db *DB) MarkOutboxSentBatch(ctx context.Context, items []OutboxItem, at time.Time) (int, error) {
	n, err := db.updateLeased(ctx, items, map[string]any{"status": OutboxSent, "sent_at": storedTime(at)})
	if err != nil {
		return n, fmt.Errorf("store: mark outbox sent: %w", err)
	}
	return n, nil
}

// updateLeased sets values on the items still leased as they were leased
// (pending, the same lease end and owner), in one statement however many
// leases they came by, and returns how many it changed.
func (db *DB) updateLeased(ctx context.Context, items []OutboxItem, values map[string]any) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(items))
	seen := map[Lease]bool{}
	var cond strings.Builder
	var args []any
	for i, it := range items {
		ids[i] = it.ID
		l := Lease{it.LeaseOwner, storedTime(it.NextAttemptAt)}
		if seen[l] {
			continue
		}
		seen[l] = true
		if cond.Len() > 0 {
			cond.WriteString(" OR ")
		}
		cond.WriteString("(next_attempt_at = ? AND lease_owner = ?)")
		args = append(args, l.Until, l.Owner)
	}
	res := db.q(ctx).Model(&OutboxItem{}).
		Where("id IN ? AND status = ?", ids, OutboxPending).Where("("+cond.String()+")", args...).
		Updates(values)
	return int(res.RowsAffected), res.Error
}

// HoldGroupOutbox holds back a group's posts that its rate limit stops,
// until then: leased, the caller's items still leased to it; and the
// group's other pending posts that are due and leased to nobody — except
// a message's own answers (Origin.AnswersMessage), which go by a route of
// their own. A group over its limit is then passed over by every sender
// until its window frees, instead of its backlog being leased, found
// over the limit and left to its lease again and again. Items another
// sender holds are left to it. It returns how many it held.
func (db *DB) HoldGroupOutbox(ctx context.Context, groupID int64, leased []OutboxItem, now, until time.Time) (int, error) {
	if groupID <= 0 || until.IsZero() {
		return 0, fmt.Errorf("store: hold outbox: need a group and a time (got %d, %v)", groupID, until)
	}
	until = storedTime(until)
	held, err := db.updateLeased(ctx, leased, map[string]any{"next_attempt_at": until})
	if err != nil {
		return held, fmt.Errorf("store: hold outbox: %w", err)
	}
	res := db.q(ctx).Model(&OutboxItem{}).
		Where("group_id = ? AND status = ? AND next_attempt_at <= ? AND NOT "+answerSQL("origin"), groupID, OutboxPending, now.UTC()).
		Update("next_attempt_at", until)
	if res.Error != nil {
		return held, fmt.Errorf("store: hold outbox: %w", res.Error)
	}
	return held + int(res.RowsAffected), nil
}

// ErrLeaseLost says an outbox item is no longer leased to the caller: its
// lease ran out and another replica leased it (or already sent or retried
// it). The caller must leave the item alone — sending or marking it now
// could post it twice or undo the other replica's result.
var ErrLeaseLost = errors.New("store: outbox lease lost")

// leaseHeld is the condition every write by a lease holder carries: the
// item is still pending and still carries the lease the holder was given
// (LeaseOutbox's NextAttemptAt). A replica that leases the item after the
// lease runs out moves NextAttemptAt on, so a late write by the first
// holder matches nothing instead of overwriting the second one's result.
func leaseHeld(tx *gorm.DB, id int64, leasedUntil time.Time) *gorm.DB {
	return tx.Model(&OutboxItem{}).
		Where("id = ? AND status = ? AND next_attempt_at = ?", id, OutboxPending, storedTime(leasedUntil))
}

// RenewOutboxLease extends the lease on item id, held until leasedUntil,
// to until, and fails with ErrLeaseLost when the caller no longer holds it.
// A sender renews right before each send, so an item that waited behind
// others in its batch is never sent on a lease about to run out (another
// replica could lease and send it at the same time).
func (db *DB) RenewOutboxLease(ctx context.Context, id int64, leasedUntil, until time.Time) error {
	if until.IsZero() {
		return fmt.Errorf("store: renew outbox lease %d: no end time", id)
	}
	res := leaseHeld(db.q(ctx), id, leasedUntil).Update("next_attempt_at", storedTime(until))
	return db.outboxUpdated(ctx, id, leasedUntil, storedTime(until), res, "renew lease")
}

// MarkOutboxRetry records a failed attempt at item id, leased until
// leasedUntil: the attempt count goes up, errText is kept (cut to fit), and
// the item is due again at next — or, when giveUp, it is marked failed and
// never retried. It fails with ErrLeaseLost when the lease is no longer the
// caller's, and changes nothing then.
func (db *DB) MarkOutboxRetry(ctx context.Context, id int64, leasedUntil time.Time, errText string, next time.Time, giveUp bool) error {
	status := OutboxPending
	if giveUp {
		status = OutboxFailed
	}
	res := leaseHeld(db.q(ctx), id, leasedUntil).Updates(map[string]any{
		"attempts":        gorm.Expr("attempts + 1"),
		"last_error":      truncateRunes(errText, 512),
		"next_attempt_at": storedTime(next),
		"status":          status,
	})
	return db.outboxUpdated(ctx, id, leasedUntil, time.Time{}, res, "mark retry")
}

// DeferOutbox moves the leased items (ID, and NextAttemptAt as the lease
// the caller holds) to be due at until, without counting an attempt. A
// sender calls it with a group's remaining items when one of them fails,
// so they wait for the failed one's retry instead of coming back when
// their lease runs out and overtaking it. Items whose lease the caller no
// longer holds are left alone; it returns how many were moved.
func (db *DB) DeferOutbox(ctx context.Context, items []OutboxItem, until time.Time) (int, error) {
	if until.IsZero() {
		return 0, errors.New("store: defer outbox: no time")
	}
	until = storedTime(until)
	moved := 0
	for _, it := range items {
		res := leaseHeld(db.q(ctx), it.ID, it.NextAttemptAt).Update("next_attempt_at", until)
		if err := db.outboxUpdated(ctx, it.ID, it.NextAttemptAt, until, res, "defer"); err != nil {
			if errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrNotFound) {
				continue
			}
			return moved, err
		}
		moved++
	}
	return moved, nil
}

// outboxUpdated explains a lease holder's write that changed no row:
// ErrNotFound when the item does not exist, ErrLeaseLost when it is no
// longer leased to the caller. MySQL counts changed rows, not matched
// ones, so a write that sets next_attempt_at to the value it already has
// (nextAt, when not zero) changes nothing yet succeeded.
func (db *DB) outboxUpdated(ctx context.Context, id int64, leasedUntil, nextAt time.Time, res *gorm.DB, what string) error {
	if res.Error != nil {
		return fmt.Errorf("store: outbox %s %d: %w", what, id, res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	var it OutboxItem
	err := db.q(ctx).Where("id = ?", id).Take(&it).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("store: outbox item %s: %w", strconv.FormatInt(id, 10), ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: outbox %s %d: %w", what, id, err)
	case !nextAt.IsZero() && it.Status == OutboxPending && storedTime(leasedUntil).Equal(storedTime(nextAt)) &&
		storedTime(it.NextAttemptAt).Equal(storedTime(nextAt)):
		return nil
	}
	return fmt.Errorf("store: outbox %s %d: %w", what, id, ErrLeaseLost)
}

// OutboxForGroup returns the latest limit posts to group groupID (all of
// them when limit <= 0), oldest first, whatever their status: what the
// sandbox shows as the bot's side of a group chat.
func (db *DB) OutboxForGroup(ctx context.Context, groupID int64, limit int) ([]OutboxItem, error) {
	q := db.q(ctx).Where("group_id = ?", groupID).Order("created_at DESC, id DESC")
	if limit > 0 {
		q = q.Limit(limit)
	}
	var out []OutboxItem
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("store: outbox for group %d: %w", groupID, err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// OutboxByMessage returns the posts inbound message id caused, in any
// group, oldest first: its reply and what its facts made the bot say.
func (db *DB) OutboxByMessage(ctx context.Context, id int64) ([]OutboxItem, error) {
	var out []OutboxItem
	if err := db.q(ctx).Where("message_id = ?", id).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("store: outbox of message %d: %w", id, err)
	}
	return out, nil
}

// OutboxCount is how many outbox items of one platform have one status.
type OutboxCount struct {
	Platform string
	Status   string // OutboxPending, OutboxSent or OutboxFailed
	Items    int64
}

// CountOutbox counts the outbox items by platform and status, in one
// query, ordered by platform then status: the backlog /metrics reports.
// Combinations with no item are left out.
func (db *DB) CountOutbox(ctx context.Context) ([]OutboxCount, error) {
	var out []OutboxCount
	err := db.q(ctx).Model(&OutboxItem{}).
		Select("platform, status, COUNT(*) AS items").
		Group("platform, status").Order("platform, status").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: count outbox: %w", err)
	}
	return out, nil
}
