package store

// ReadThenWrite makes db record temperatures as it does on a database that
// cannot return what an upsert wrote (MySQL): read the rows locked, then
// write. Tests run that path on SQLite and MariaDB too.
func ReadThenWrite(db *DB) { db.returning = false }
