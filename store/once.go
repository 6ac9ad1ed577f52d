package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// createOnce stores row as the record that message messageID made, with
// what then adds in the same transaction (then may be nil), and returns the
// stored row. When the message already made its record — a replayed
// delivery — it returns that record and writes nothing, so that a message
// handled twice is stored once. T's table must have a unique message_id: a
// rival delivery that inserts first makes this one fail on it, and the
// unit of work runs again (Atomic) to find the rival's row — as does a
// replay: the first run of a unit inserts without looking.
//
// guard (may be nil) runs first in the transaction: when it returns a row,
// that row is the answer and nothing is written — how a record made by
// another message (a double tap) stands in for this one. A guard that must
// see rival transactions' rows takes a lock first (lockRow), so that two
// guards deciding about the same thing run one after the other.
//
// row must be ready to insert (a zero ID and the initial state).
func createOnce[T any](ctx context.Context, db *DB, messageID int64, row T,
	guard func(tx *gorm.DB) (*T, error), then func(tx *gorm.DB, saved *T) error) (*T, error) {
	var out T
	err := db.Atomic(ctx, func(ctx context.Context) error {
		tx := db.q(ctx)
		if guard != nil {
			stand, err := guard(tx)
			if err != nil {
				return err
			}
			if stand != nil {
				out = *stand
				return nil
			}
		}
		// A fresh value each attempt: after a rolled-back attempt out
		// still holds the ID that attempt was given, and gorm would add
		// it to the lookup as a condition.
		//
		// The first run of the unit inserts straight away: a message is
		// handled once (its outcome commits with its records), so a
		// record it made already is rare — a replay, or a rival replica
		// that took it over — and then the insert fails on the unique
		// key and the unit runs again, looking first.
		if ctx.Value(unitKey{}).(*unit).attempt > 1 {
			var found T
			err := tx.Where("message_id = ?", messageID).First(&found).Error
			if !errors.Is(err, gorm.ErrRecordNotFound) {
				out = found
				return err // nil: a replay
			}
		}
		out = row
		if err := tx.Create(&out).Error; err != nil {
			return err
		}
		if then == nil {
			return nil
		}
		return then(tx, &out)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// lockRow takes the write lock of the row of T with primary key id until
// tx ends, so that transactions deciding something about it (is this a
// double tap? is this the same tenant's return?) run one after another on
// MySQL. A missing row locks nothing. (SQLite has one writer at a time
// already, and the clause is left out there.)
func lockRow[T any](tx *gorm.DB, id int64) error {
	var v []T
	return tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Limit(1).Find(&v).Error
}

// messageTime returns when inbound message id was received; ok is false
// when the message is not in the log.
func messageTime(tx *gorm.DB, id int64) (at time.Time, ok bool, err error) {
	var ms []InboundMessage
	if err := tx.Select("id, received_at").Where("id = ?", id).Limit(1).Find(&ms).Error; err != nil {
		return time.Time{}, false, err
	}
	if len(ms) == 0 {
		return time.Time{}, false, nil
	}
	return ms[0].ReceivedAt, true, nil
}

// receivedWithin restricts q (on table, whose message_id names the inbound
// message that made each row) to rows whose message was received within
// window of at, either side: the test for a double tap, measured between
// the two messages' arrivals, so that a replay hours later still finds the
// same answer.
func receivedWithin(q *gorm.DB, table string, at time.Time, window time.Duration) *gorm.DB {
	return q.Joins("JOIN inbound_messages ON inbound_messages.id = "+table+".message_id").
		Where("inbound_messages.received_at BETWEEN ? AND ?", at.Add(-window).UTC(), at.Add(window).UTC())
}
