package store

import "context"

// Exec runs a statement of a test's own (to shape an old schema).
func Exec(ctx context.Context, db *DB, stmt string) error {
	return db.gdb.WithContext(ctx).Exec(stmt).Error
}
