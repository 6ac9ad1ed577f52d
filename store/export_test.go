package store

import "time"

// ReadThenWrite makes db record temperatures as it does on a database that
// cannot return what an upsert wrote (MySQL): read the rows locked, then
// write. Tests run that path on SQLite and MariaDB too.
func ReadThenWrite(db *DB) { db.returning = false }

// ParkFor sets how long db's parked transactions may wait to be used.
func ParkFor(db *DB, d time.Duration) {
	db.parking.mu.Lock()
	db.parking.maxAge = d
	db.parking.mu.Unlock()
}

// Parked is how many transactions wait begun ahead in db.
func Parked(db *DB) int {
	db.parking.mu.Lock()
	defer db.parking.mu.Unlock()
	return len(db.parking.waiting)
}
