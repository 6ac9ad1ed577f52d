package store

import (
	"context"
	"errors"

	"gorm.io/gorm"
)

// createOnce stores row as the record that message messageID made, with
// what then adds in the same transaction (then may be nil), and returns the
// stored row. When the message already made its record — a replayed
// delivery — it returns that record and writes nothing, so that a message
// handled twice is stored once. T's table must have a unique message_id: a
// rival delivery that inserts first makes this one fail on it, and
// retryOnDuplicate runs it again to find the rival's row.
//
// row must be ready to insert (a zero ID and the initial state).
func createOnce[T any](ctx context.Context, db *DB, messageID int64, row T, then func(tx *gorm.DB, saved *T) error) (*T, error) {
	var out T
	err := retryOnDuplicate(func() error {
		return db.tx(ctx, func(tx *gorm.DB) error {
			// A fresh value each attempt: after a rolled-back attempt out
			// still holds the ID that attempt was given, and gorm would add
			// it to the lookup as a condition.
			var found T
			err := tx.Where("message_id = ?", messageID).First(&found).Error
			if !errors.Is(err, gorm.ErrRecordNotFound) {
				out = found
				return err // nil: a replay
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
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
