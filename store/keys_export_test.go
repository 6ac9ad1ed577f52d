package store

import "context"

// Insert writes rows exactly as given, past the store's checks and the
// roster's matching: how a test puts side by side keys that no public method
// would create together (node codes that differ only in case).
func Insert(db *DB, rows any) error { return db.gdb.Create(rows).Error }

// Version1TableOptions are the MySQL table options towerbot used up to
// schema version 1, before keys compared byte for byte.
const Version1TableOptions = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"

// MigrateTo applies the migration steps up to version, creating MySQL
// tables with tableOptions: how a test builds a database as an older
// towerbot left it.
func MigrateTo(ctx context.Context, db *DB, version int, tableOptions string) ([]string, error) {
	return db.migrate(ctx, version, tableOptions)
}

// Query runs a read-only query into dest (a pointer to a slice of structs
// or of strings), such as a look into information_schema.
func Query(ctx context.Context, db *DB, dest any, query string, args ...any) error {
	return db.gdb.WithContext(ctx).Raw(query, args...).Scan(dest).Error
}

// TableOptions are the MySQL table options towerbot uses now.
const TableOptions = mysqlTableOptions
