package store

import (
	"context"
	"strconv"
)

// byID reads the row of T with primary key id, or ErrNotFound naming it as
// what and the id ("errand 12"): the one way every XByID method reads, so
// that a missing row is reported alike whatever its kind.
func byID[T any](ctx context.Context, db *DB, id int64, what string) (*T, error) {
	var v T
	if err := db.q(ctx).First(&v, id).Error; err != nil {
		return nil, notFound(err, what+" "+strconv.FormatInt(id, 10))
	}
	return &v, nil
}
