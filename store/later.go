package store

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Rows written later: a write whose caller decides nothing from what the
// database makes of it (a temperature that cannot be a fever, a
// disinfection) is queued in its unit of work and written when the unit
// commits — every message's of a batch in one statement, and no savepoint
// taken for a message that writes nothing else — or earlier, right before
// any statement of the unit that touches the table, so that the unit
// reads what it wrote and its other writes land after these. A statement
// touches a table when its model is the table's or its SQL names it: a
// query that reaches such a table only through a join written on another
// model would not see the queued rows, and none does. Outside a unit the
// rows are written at once.

// statement is one SQL statement and its arguments, and — when check is
// set — what the rows it affected must be (ErrHandled otherwise).
type statement struct {
	sql   string
	args  []any
	check func(affected int64) error
}

// insertsSkippingTaken are the multi-row INSERTs of rows into table, up
// to chunk rows each: values gives a row's values in the order of cols,
// and a row whose unique key (the columns key) is taken already is left
// out, as a replay's is.
func insertsSkippingTaken[T any](db *DB, table, cols, key string, rows []T, values func(T) []any) []statement {
	var out []statement
	for len(rows) > 0 {
		n := min(len(rows), chunk)
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
		var args []any
		for i, r := range rows[:n] {
			vs := values(r)
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?" + strings.Repeat(", ?", len(vs)-1) + ")")
			args = append(args, vs...)
		}
		if db.driver == DriverMySQL {
			b.WriteString(" ON DUPLICATE KEY UPDATE id = id")
		} else {
			b.WriteString(" ON CONFLICT (" + key + ") DO NOTHING")
		}
		out = append(out, statement{sql: b.String(), args: args})
		rows = rows[n:]
	}
	return out
}

// maxJoined bounds the statements execAll joins into one, in bytes of SQL
// and text arguments: far below MySQL's max_allowed_packet (16 MiB by
// default), past which the driver could not send them interpolated.
const maxJoined = 1 << 20

// size is about how many bytes st takes on the wire, interpolated.
func (st statement) size() int {
	n := len(st.sql)
	for _, a := range st.args {
		switch v := a.(type) {
		case string:
			n += len(v) + 2
		case []byte:
			n += 2*len(v) + 3
		default:
			n += 24
		}
	}
	return n
}

// execAll runs sts in order on conn: on MySQL in as few round trips as it
// can — statements joined into one (when the connection allows several:
// multiStatements, which Open asks for unless the DSN says otherwise),
// each group ending with a checked statement, since the driver reports
// the rows the last statement of a group affected — and otherwise (on
// SQLite, in-process) one by one. The statements hold no input in their
// text: every value goes as an argument, escaped by the driver
// (interpolateParams), so joining them adds no way in.
func execAll(ctx context.Context, db *DB, conn gorm.ConnPool, sts []statement) error {
	for len(sts) > 0 {
		n := 1
		if db.joins {
			size := sts[0].size()
			for n < len(sts) && sts[n-1].check == nil && size+sts[n].size() <= maxJoined {
				size += sts[n].size()
				n++
			}
		}
		sql, args := sts[0].sql, sts[0].args
		if n > 1 {
			var b strings.Builder
			args = nil
			for i, st := range sts[:n] {
				if i > 0 {
					b.WriteString(";\n")
				}
				b.WriteString(st.sql)
				args = append(args, st.args...)
			}
			sql = b.String()
		}
		res, err := conn.ExecContext(ctx, sql, args...)
		if err != nil {
			return db.translate(err)
		}
		if check := sts[n-1].check; check != nil {
			affected, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if err := check(affected); err != nil {
				return err
			}
		}
		sts = sts[n:]
	}
	return nil
}

// translate names err as gorm does a statement's (a taken unique key is
// gorm.ErrDuplicatedKey, which Retryable knows), keeping the driver's
// error in the chain too.
func (db *DB) translate(err error) error {
	t, ok := db.gdb.Dialector.(gorm.ErrorTranslator)
	if !ok {
		return err
	}
	if terr := t.Translate(err); terr != err {
		return fmt.Errorf("%w: %w", terr, err)
	}
	return err
}

// laterTable is one table's rows queued in a unit of work.
type laterTable interface {
	table() string
	// counts are how many rows are queued and how many of them written.
	counts() (queued, written int)
	// restore goes back to counts taken before: rows queued since are
	// dropped, rows written since are to be written again.
	restore(queued, written int)
	// write writes the rows queued and not written yet on conn.
	write(ctx context.Context, db *DB, conn gorm.ConnPool) error
	// take returns the statements that write the rows queued and not
	// written yet, counting them written: the unit runs them as it
	// commits (flush).
	take(db *DB) []statement
}

// laterRows is a laterTable of rows of type T, written by statements.
type laterRows[T any] struct {
	name       string
	rows       []T
	written    int
	statements func(db *DB, rows []T) []statement
}

func (l *laterRows[T]) table() string                 { return l.name }
func (l *laterRows[T]) counts() (queued, written int) { return len(l.rows), l.written }

func (l *laterRows[T]) restore(queued, written int) {
	l.rows = l.rows[:min(queued, len(l.rows))]
	l.written = min(written, len(l.rows))
}

func (l *laterRows[T]) write(ctx context.Context, db *DB, conn gorm.ConnPool) error {
	if l.written == len(l.rows) {
		return nil
	}
	// Straight to the connection: through gorm the statement would come
	// back to the callback that writes queued rows first.
	if err := execAll(ctx, db, conn, l.statements(db, l.rows[l.written:])); err != nil {
		return fmt.Errorf("store: write queued %s: %w", l.name, err)
	}
	l.written = len(l.rows)
	return nil
}

func (l *laterRows[T]) take(db *DB) []statement {
	if l.written == len(l.rows) {
		return nil
	}
	sts := l.statements(db, l.rows[l.written:])
	l.written = len(l.rows)
	return sts
}

// writeLater queues rows of table in ctx's unit of work, to be written by
// statements (see above); outside a unit, it opens one, which writes them
// as it commits.
func writeLater[T any](ctx context.Context, db *DB, table string, statements func(db *DB, rows []T) []statement, rows ...T) error {
	return db.Atomic(ctx, func(ctx context.Context) error {
		u := ctx.Value(unitKey{}).(*unit)
		for _, l := range u.later {
			if q, ok := l.(*laterRows[T]); ok && q.name == table {
				q.rows = append(q.rows, rows...)
				return nil
			}
		}
		u.later = append(u.later, &laterRows[T]{name: table, rows: rows, statements: statements})
		return nil
	})
}

// laterMark is the counts of each of a unit's laterTables, in order.
type laterMark [][2]int

// mark returns the counts of u's queued rows now.
func (u *unit) mark() laterMark {
	m := make(laterMark, len(u.later))
	for i, l := range u.later {
		m[i][0], m[i][1] = l.counts()
	}
	return m
}

// restoreQueued drops the rows queued since queued was marked and, when
// written is not nil (a savepoint taken at that mark was rolled back to),
// marks the rows written since to be written again. A table first queued
// since counts from nothing.
func (u *unit) restoreQueued(queued, written laterMark) {
	for i, l := range u.later {
		var q, w int // a table first queued since counts from nothing
		if i < len(queued) {
			q = queued[i][0]
		}
		switch {
		case written == nil:
			_, w = l.counts()
		case i < len(written):
			w = written[i][1]
		}
		l.restore(q, w)
	}
}

// flush writes, as u commits, every row it queued and has not written yet
// and the posts it queued — on MySQL in one round trip, or one more for
// each statement whose rows must be checked (execAll), those going last.
func (u *unit) flush(ctx context.Context, conn gorm.ConnPool) error {
	// The checked last: fewer round trips, and no other depends on them.
	var sts, checked []statement
	for _, l := range u.later {
		for _, st := range l.take(u.db) {
			if st.check != nil {
				checked = append(checked, st)
			} else {
				sts = append(sts, st)
			}
		}
	}
	sts = append(sts, outboxInserts(u.db, u.outbox)...)
	sts = append(sts, checked...)
	u.outbox = nil
	if err := execAll(ctx, u.db, conn, sts); err != nil {
		return fmt.Errorf("store: write what the unit queued: %w", err)
	}
	return nil
}

// writeQueuedFirst is the gorm callback run before every statement: when
// it touches a table whose rows its unit of work queued and has not
// written yet, it writes them first. Like any write, that takes the
// unit's pending savepoints first.
func writeQueuedFirst(tx *gorm.DB) {
	if tx.Error != nil || tx.Statement == nil || tx.Statement.Context == nil {
		return
	}
	u, ok := tx.Statement.Context.Value(unitKey{}).(*unit)
	if !ok {
		return
	}
	for _, l := range u.later {
		if q, w := l.counts(); q == w {
			continue
		}
		if tx.Statement.Table != l.table() && !strings.Contains(tx.Statement.SQL.String(), l.table()) {
			continue
		}
		if takeSavepoints(tx); tx.Error != nil {
			return
		}
		if err := l.write(tx.Statement.Context, u.db, tx.Statement.ConnPool); err != nil {
			tx.AddError(err)
			return
		}
	}
}
