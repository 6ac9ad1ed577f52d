package store

import "context"

// MigrateTo applies the migration steps up to version, so that a test can
// start from an older schema.
func MigrateTo(ctx context.Context, db *DB, version int) ([]string, error) {
	return db.migrateTo(ctx, version)
}

// Exec runs a statement of a test's own (to shape an old schema).
func Exec(ctx context.Context, db *DB, stmt string) error {
	return db.gdb.WithContext(ctx).Exec(stmt).Error
}
