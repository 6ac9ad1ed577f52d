package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

// A unit of work is one transaction that several store calls share: a
// message's handling writes its facts, the posts they cause, its reply and
// its outcome together, or none of them. Atomic opens one; every store call
// made with the context it hands to fn runs in that transaction, so the
// code in between (the domain, the handlers) needs no transaction handle
// of its own, and a domain operation called on its own (by a scheduled job,
// or the dashboard) opens its own unit the same way.

// unitKey is the context key of the unit of work a context runs in.
type unitKey struct{}

// unit is one open transaction and what waits for its commit.
type unit struct {
	db          *DB
	attempt     int // the run of the unit (Atomic runs it again on a race)
	tx          *gorm.DB
	afterCommit []func()
	directory   bool // the unit changed the directory (DirectoryChanged)
	savepoints  int  // savepoints begun, for their names
	// pending names the savepoints begun but not yet taken: a savepoint
	// is taken only right before the first write inside it
	// (takeSavepoints), so that a part of the unit that only reads — most
	// messages of a batch: chit-chat, help, queries — costs no round trip.
	pending []string
	// outbox holds the posts queued in the unit, written together in one
	// multi-row insert when it commits (EnqueueOutbox).
	outbox []OutboxItem
	// later holds the rows queued in the unit to be written as it commits
	// (writeLater), by table.
	later []laterTable
	// shared holds what calls in the unit share (PerUnit).
	shared map[any]any
	// writtenAt is, for each savepoint taken, the queued rows' counts when
	// it was taken: rolling back to it unwrites the rows written since,
	// which are then written again later.
	writtenAt map[string]laterMark
}

// maxAttempts is how many times Atomic runs a unit that fails on a race it
// can win by running again.
const maxAttempts = 6

// Atomic runs fn in one transaction and commits it when fn returns nil;
// any error rolls everything back. Every store call made with the ctx fn
// receives joins the transaction. Called with a ctx that already runs in
// one, fn simply joins it: the outermost Atomic alone commits, rolls back
// and retries.
//
// When the transaction fails on a race — a rival inserted the same unique
// row first, or InnoDB chose it as a deadlock victim or timed out its lock
// wait — fn runs again from the start in a new transaction, a few times:
// the next run finds the rival's row. fn must therefore be safe to run
// again: it writes only through the store with ctx, and keeps nothing of a
// failed run.
//
// On MySQL the transaction reads committed data (READ COMMITTED, the
// session default Open sets on every connection): each
// statement sees what rivals committed before it, and decisions that must
// not race take row locks (lockRow), as they would under any isolation.
func (db *DB) Atomic(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(unitKey{}).(*unit); ok {
		return fn(ctx)
	}
	var err error
	for attempt := 1; ; attempt++ {
		u := &unit{db: db, attempt: attempt}
		err = u.run(ctx, fn)
		if err == nil {
			for _, f := range u.afterCommit {
				f()
			}
			return nil
		}
		if attempt == maxAttempts || !Retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt) * 3 * time.Millisecond)
	}
}

// PerUnit returns the value kept under key in the unit of work ctx runs
// in, made by newValue the first time the unit is asked for it: what the
// calls in one unit share (the lease on the answers it queues, one for
// all its messages). Outside a unit, each call makes its own.
func PerUnit(ctx context.Context, key any, newValue func() any) any {
	u, ok := ctx.Value(unitKey{}).(*unit)
	if !ok {
		return newValue()
	}
	if v, ok := u.shared[key]; ok {
		return v
	}
	if u.shared == nil {
		u.shared = map[any]any{}
	}
	v := newValue()
	u.shared[key] = v
	return v
}

// run runs fn in u's transaction — one begun ahead when there is one
// (begun.go) — and commits it, or rolls it back when fn fails (or
// panics) or what u queued cannot be written.
func (u *unit) run(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	tx := u.db.begin(ctx)
	if tx.Error != nil {
		return tx.Error
	}
	u.db.parkNext() // for the unit after this one
	done := false
	defer func() {
		if !done {
			tx.Rollback()
		}
	}()
	u.tx = tx
	if err := fn(context.WithValue(ctx, unitKey{}, u)); err != nil {
		return err
	}
	if err := u.flush(ctx, tx.Statement.ConnPool); err != nil {
		return err
	}
	done = true
	return tx.Commit().Error
}

// rerun reports whether ctx runs in a unit of work that Atomic runs again
// after a race: what looked new the first time may be stored now.
func rerun(ctx context.Context) bool {
	u, ok := ctx.Value(unitKey{}).(*unit)
	return ok && u.attempt > 1
}

// AfterCommit runs f once the unit of work ctx runs in has committed — at
// once when ctx runs in none — and never when it rolls back: how a writer
// wakes what must see its rows (the outbox sender) without waking it for
// rows that are not there yet, or never will be.
func AfterCommit(ctx context.Context, f func()) {
	if u, ok := ctx.Value(unitKey{}).(*unit); ok {
		u.afterCommit = append(u.afterCommit, f)
		return
	}
	f()
}

// Savepoint runs fn as a part of ctx's unit of work that can fail alone:
// when fn returns an error, what it wrote is undone (ROLLBACK TO SAVEPOINT)
// and the unit goes on, so that one message of a batch handled in one
// transaction can be refused without undoing the others. An error that
// broke the whole transaction — a deadlock, after which InnoDB has rolled
// everything back — is returned as it is and the unit must end (Retryable
// tells). Outside a unit, Savepoint is Atomic. Work fn registered with
// AfterCommit stays registered: it must be harmless when fn's writes are
// undone (waking a sender is).
//
// The SAVEPOINT statement itself waits for fn's first write
// (takeSavepoints): an fn that writes nothing has nothing to undo, and
// costs no statement. (Row locks fn's reads took are kept either way, as
// ROLLBACK TO SAVEPOINT keeps them.)
func (db *DB) Savepoint(ctx context.Context, fn func(ctx context.Context) error) error {
	u, ok := ctx.Value(unitKey{}).(*unit)
	if !ok {
		return db.Atomic(ctx, fn)
	}
	u.savepoints++
	name := "sp" + strconv.Itoa(u.savepoints)
	queued, later := len(u.outbox), u.mark()
	u.pending = append(u.pending, name)
	err := fn(ctx)
	taken := !slices.Contains(u.pending, name)
	if !taken {
		u.pending = u.pending[:slices.Index(u.pending, name)]
	}
	if err == nil || Retryable(err) {
		return err
	}
	var written laterMark
	if taken {
		if rerr := u.tx.WithContext(context.WithoutCancel(ctx)).RollbackTo(name).Error; rerr != nil {
			return errors.Join(err, fmt.Errorf("store: roll back to savepoint: %w", rerr))
		}
		// The queued rows written since — of earlier parts too — are
		// unwritten: they go again later.
		written = u.writtenAt[name]
	}
	// The posts and rows it queued go with its writes. (No row of its own
	// was written before its savepoint was taken: writing them takes it
	// first.)
	u.outbox = u.outbox[:queued]
	u.restoreQueued(later, written)
	return err
}

// takeSavepoints is the gorm callback run before every write (create,
// update, delete, raw statement): it takes the savepoints of the write's
// unit of work that are still pending, in the order they began, so that
// a rollback to any of them undoes this write.
func takeSavepoints(tx *gorm.DB) {
	if tx.Error != nil || tx.Statement == nil || tx.Statement.Context == nil {
		return
	}
	u, ok := tx.Statement.Context.Value(unitKey{}).(*unit)
	if !ok || len(u.pending) == 0 {
		return
	}
	for _, name := range u.pending {
		// Straight to the transaction's connection: through gorm the
		// statement would come back to this callback.
		if _, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, "SAVEPOINT "+name); err != nil {
			tx.AddError(fmt.Errorf("store: savepoint: %w", err))
			return
		}
		if u.writtenAt == nil {
			u.writtenAt = map[string]laterMark{}
		}
		u.writtenAt[name] = u.mark()
	}
	u.pending = u.pending[:0]
}

// registerSavepointCallbacks has every write take its unit's pending
// savepoints first (takeSavepoints), and every statement write the rows
// its unit queued for its table first (writeQueuedFirst).
func registerSavepointCallbacks(gdb *gorm.DB) error {
	cb := gdb.Callback()
	return errors.Join(
		cb.Create().Before("gorm:create").Register("towerbot:savepoint", takeSavepoints),
		cb.Update().Before("gorm:update").Register("towerbot:savepoint", takeSavepoints),
		cb.Delete().Before("gorm:delete").Register("towerbot:savepoint", takeSavepoints),
		cb.Raw().Before("gorm:raw").Register("towerbot:savepoint", takeSavepoints),
		cb.Create().After("towerbot:savepoint").Register("towerbot:later", writeQueuedFirst),
		cb.Update().After("towerbot:savepoint").Register("towerbot:later", writeQueuedFirst),
		cb.Delete().After("towerbot:savepoint").Register("towerbot:later", writeQueuedFirst),
		cb.Raw().After("towerbot:savepoint").Register("towerbot:later", writeQueuedFirst),
		cb.Query().Before("gorm:query").Register("towerbot:later", writeQueuedFirst),
		cb.Row().Before("gorm:row").Register("towerbot:later", writeQueuedFirst),
	)
}

// InUnit reports whether ctx runs in a unit of work.
func InUnit(ctx context.Context) bool {
	_, ok := ctx.Value(unitKey{}).(*unit)
	return ok
}

// q is the handle every store query goes through: the transaction of ctx's
// unit of work when it has one, the connection pool otherwise. (On SQLite
// the pool holds one connection: a query that bypassed the unit from inside
// it would wait for ever for the connection the unit holds.)
func (db *DB) q(ctx context.Context) *gorm.DB {
	if u, ok := ctx.Value(unitKey{}).(*unit); ok {
		return u.tx.WithContext(ctx)
	}
	return db.gdb.WithContext(ctx)
}

// tx runs fn in ctx's unit of work, opening one when there is none: how a
// public method that writes several rows makes them one change.
func (db *DB) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return db.Atomic(ctx, func(ctx context.Context) error { return fn(db.q(ctx)) })
}

// Retryable reports whether err is a race that running the whole unit of
// work again can win: a unique key a rival filled first, or InnoDB's
// deadlock or lock-wait timeout (after which it rolled the transaction
// back).
func Retryable(err error) bool { return isDuplicate(err) || isDeadlock(err) }

// isDeadlock reports whether err is InnoDB's deadlock or lock-wait timeout,
// after which the transaction was rolled back and may be run again.
func isDeadlock(err error) bool {
	var me *mysqldrv.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}
