package store

import (
	"context"
	"time"
)

// SetClock replaces db's clock, so a test can write rows "in the past" on
// a database storetest.Each opened.
func SetClock(db *DB, now func() time.Time) { db.now = now }

// PurgePersonalDataBatch is PurgePersonalData with batches of batch rows.
func PurgePersonalDataBatch(ctx context.Context, db *DB, before time.Time, batch int) (PurgeStats, error) {
	return db.purgePersonalData(ctx, before, batch)
}
