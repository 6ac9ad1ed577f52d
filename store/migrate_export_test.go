package store

import "context"

// Exec runs a statement of a test's own (to shape an old schema).
func Exec(ctx context.Context, db *DB, stmt string) error {
	return db.gdb.WithContext(ctx).Exec(stmt).Error
}

// QueryIn runs a read-only query in ctx's unit of work (or outside one).
func QueryIn(ctx context.Context, db *DB, dest any, query string) error {
	return db.q(ctx).Raw(query).Scan(dest).Error
}

// MigrationSteps is how many steps the schema history has (their numbers
// may have gaps).
func MigrationSteps() int { return len(migrations) }
