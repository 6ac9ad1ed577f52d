package store

import (
	"context"
	"fmt"
)

// BulkInsert writes rows, a slice of models, in multi-row inserts of batch
// rows each (inside ctx's unit of work when there is one) and fills in
// their ids: how generated data sets (`towerbot seed`) are loaded. It
// checks nothing the models do not: callers load data they made.
func (db *DB) BulkInsert(ctx context.Context, rows any, batch int) error {
	if batch <= 0 {
		batch = chunk
	}
	if err := db.q(ctx).CreateInBatches(rows, batch).Error; err != nil {
		return fmt.Errorf("store: bulk insert: %w", err)
	}
	return nil
}

// MarkDirectoryChanged bumps the directory's version, for a loader that
// wrote the directory's tables with BulkInsert: copies in memory reload.
func (db *DB) MarkDirectoryChanged(ctx context.Context) error {
	return db.Atomic(ctx, db.directoryChanged)
}
