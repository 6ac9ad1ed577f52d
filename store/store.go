// Package store keeps towerbot's data: models, versioned migrations and the
// queries the rest of towerbot needs. MySQL (InnoDB, utf8mb4) is the
// production database and SQLite (pure Go) the embedded default; every query
// here runs on both, and the same test suite proves it.
//
// The store knows nothing of chat platforms or behaviour: it keeps records
// and enforces the keys that keep them honest (one temperature per person and
// day, one claim per errand, one outbox row per origin and group).
//
// Public methods own their transactions; private helpers take the *gorm.DB
// of the transaction they run in.
package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	mysqldrv "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Drivers accepted by Open.
const (
	DriverSQLite = "sqlite"
	DriverMySQL  = "mysql"
)

// Errors callers test for with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// DB is the store. It is safe for concurrent use.
type DB struct {
	gdb    *gorm.DB
	driver string
	now    func() time.Time
	// returning says the database can return the rows an INSERT … ON
	// CONFLICT/DUPLICATE KEY UPDATE wrote (SQLite, MariaDB; not MySQL),
	// so that an upsert and the read of its result are one statement.
	returning bool
	// joins says the connection takes several statements in one round
	// trip (MySQL with multiStatements: see execAll).
	joins bool

	hooks       sync.Mutex
	onDirectory []func(version int64) // see OnDirectoryChange

	parking parking // transactions begun ahead (begun.go)
	ids     idCache // message-log ids reserved (ids.go)
}

// Option changes how Open sets up the store.
type Option func(*DB)

// WithClock sets the clock used for created/updated times (tests pin it).
func WithClock(now func() time.Time) Option { return func(db *DB) { db.now = now } }

// Open connects to the database. For sqlite the DSN is a file path (its
// folder is created) or ":memory:"-style DSN; for mysql it is a
// go-sql-driver DSN, to which parseTime, loc and charset are added when
// missing.
func Open(driver, dsn string, opts ...Option) (*DB, error) {
	db := &DB{driver: driver, now: time.Now}
	for _, o := range opts {
		o(db)
	}
	var dial gorm.Dialector
	switch driver {
	case DriverSQLite:
		if dsn == "" {
			return nil, errors.New("store: empty sqlite path")
		}
		path := dsn
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path != ":memory:" && !strings.HasPrefix(path, "file::memory:") {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return nil, fmt.Errorf("store: create folder for %s: %w", path, err)
			}
		}
		dial = sqlite.Open(sqliteDSN(dsn))
		db.returning = true // SQLite 3.35 and later; the driver embeds 3.41
	case DriverMySQL:
		cfg, err := mysqldrv.ParseDSN(mysqlDSN(dsn))
		if err != nil {
			return nil, fmt.Errorf("store: mysql dsn: %w", err)
		}
		db.joins = cfg.MultiStatements
		dial = mysql.Open(mysqlDSN(dsn))
	default:
		return nil, fmt.Errorf("store: unknown driver %q (want %s or %s)", driver, DriverSQLite, DriverMySQL)
	}
	gdb, err := db.connect(dial)
	if err != nil {
		return nil, err
	}
	if driver == DriverMySQL {
		// Units of work read committed data (see Atomic). Making that the
		// session's default on every connection, rather than asking for it
		// at each BEGIN, saves a statement per transaction; the variable's
		// name differs between MySQL and MariaDB.
		var version string
		if err := gdb.Raw("SELECT VERSION()").Scan(&version).Error; err != nil {
			closeGorm(gdb)
			return nil, fmt.Errorf("store: connect mysql: %w", err)
		}
		name := "transaction_isolation"
		if strings.Contains(strings.ToLower(version), "mariadb") {
			name = "tx_isolation"
			db.returning = mariaDBReturns(version)
		}
		if !strings.Contains(dsn, name+"=") {
			closeGorm(gdb)
			if gdb, err = db.connect(mysql.Open(mysqlDSN(dsn) + "&" + name + "=%27READ-COMMITTED%27")); err != nil {
				return nil, err
			}
		}
	}
	db.gdb = gdb
	return db, nil
}

// mariaDBReturns reports whether a MariaDB of version ("10.11.19-MariaDB-…")
// returns the rows an INSERT wrote: 10.5 and later do.
func mariaDBReturns(version string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 10 || major == 10 && minor >= 5
}

// connect opens gorm on dial, sizes its pool and checks that the
// database answers.
func (db *DB) connect(dial gorm.Dialector) (*gorm.DB, error) {
	gdb, err := gorm.Open(dial, &gorm.Config{
		Logger:                                   logger.Discard,
		NowFunc:                                  func() time.Time { return db.now().UTC().Truncate(time.Microsecond) },
		DisableForeignKeyConstraintWhenMigrating: true,
		TranslateError:                           true,
		// Every write of several rows runs in a unit of work of its own
		// (Atomic): gorm's default transaction around each single
		// statement would only add a BEGIN and a COMMIT round trip to it.
		SkipDefaultTransaction: true,
	})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", db.driver, err)
	}
	if err := registerSavepointCallbacks(gdb); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", db.driver, err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, err
	}
	if db.driver == DriverSQLite {
		// SQLite allows one writer; a single connection serialises writers
		// instead of failing them with SQLITE_BUSY.
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(32)
		sqlDB.SetMaxIdleConns(16)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
	}
	if err := sqlDB.Ping(); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: connect %s: %w", db.driver, err)
	}
	return gdb, nil
}

// closeGorm closes gorm's connections.
func closeGorm(gdb *gorm.DB) {
	if sqlDB, err := gdb.DB(); err == nil {
		sqlDB.Close()
	}
}

// sqliteDSN turns on WAL, a busy timeout and foreign-key-free, UTC-stable
// behaviour for the embedded database.
func sqliteDSN(dsn string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	if !strings.Contains(dsn, "_pragma=busy_timeout") {
		dsn += sep + "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
	}
	return dsn
}

// mysqlCollation is the collation of every text column, of the database's
// default and of the connection on MySQL/MariaDB: names, node codes, chat
// ids and platform user ids are keys, and keys must compare byte for byte,
// as they do on SQLite. utf8mb4_unicode_ci (towerbot's collation up to
// schema version 1) ignores case, ignores NUL and weighs every character
// outside the Basic Multilingual Plane alike, so 𠀀三 and 𪚥三, or abc and
// ABC, were one person there.
//
// utf8mb4_bin rather than a NO PAD binary collation: it has this one name
// on MySQL 5.7, 8 and 9 and on MariaDB, so every server gets the same
// schema from the same migration, and it is one the MySQL driver can ask
// for at connection time (MariaDB's utf8mb4_nopad_bin and MySQL's
// utf8mb4_0900_bin have ids above 255, which its handshake cannot carry).
// Its PAD SPACE rule makes "abc" and "abc " equal, and only that: towerbot
// trims keys before they reach the store, and even untrimmed, such a pair
// meets a unique key as one value rather than becoming two look-alike rows.
const mysqlCollation = "utf8mb4_bin"

// mysqlTableOptions are the options of every table towerbot creates on MySQL.
const mysqlTableOptions = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=" + mysqlCollation

// mysqlDSN adds the parameters towerbot relies on: times scanned as
// time.Time in UTC, and utf8mb4 for Chinese names and emoji with the
// collation of the tables, so that literals and columns compare alike; and
// parameters interpolated by the driver, so that a statement is one round
// trip instead of three (prepare, execute, close) — safe with utf8mb4,
// which the driver escapes itself; and several statements allowed in one
// round trip, which only execAll sends.
func mysqlDSN(dsn string) string {
	add := func(key, val string) {
		if strings.Contains(dsn, key+"=") {
			return
		}
		if strings.Contains(dsn, "?") {
			dsn += "&"
		} else {
			dsn += "?"
		}
		dsn += key + "=" + val
	}
	add("parseTime", "true")
	add("loc", "UTC")
	add("charset", "utf8mb4")
	add("collation", mysqlCollation)
	add("interpolateParams", "true")
	// Several statements in one round trip: what a unit of work queued is
	// written as it commits in one (execAll).
	add("multiStatements", "true")
	return dsn
}

// Driver reports which database the store runs on.
func (db *DB) Driver() string { return db.driver }

// Close releases the connections.
func (db *DB) Close() error {
	db.closeParking()
	sqlDB, err := db.gdb.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.gdb.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Now is the store's clock, in UTC.
func (db *DB) Now() time.Time { return db.now().UTC() }

// notFound turns gorm's record-not-found into ErrNotFound, naming what was sought.
func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return err
}

// isDuplicate reports whether err is a unique-key violation.
func isDuplicate(err error) bool { return errors.Is(err, gorm.ErrDuplicatedKey) }
