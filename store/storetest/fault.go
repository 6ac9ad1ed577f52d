package storetest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/towerbot/towerbot/store"
)

// A Fault makes the database itself refuse writes, as a failing disk, a
// full table or a dropped connection would, so that a test can watch what
// towerbot leaves behind when a write fails half-way through a unit of
// work, and what it does once the fault is gone. It is a real trigger — on
// MySQL/MariaDB `BEFORE INSERT … SIGNAL SQLSTATE '45000'`, on SQLite
// `BEFORE INSERT … RAISE(ABORT, …)` — created on a connection of its own,
// so the code under test needs no hook: it meets the error exactly where
// production would, inside its transaction.
//
// The fault lasts until Heal, or the end of the test.
type Fault struct {
	t      testing.TB
	conn   *gorm.DB
	name   string
	table  string
	mu     sync.Mutex
	healed bool
}

// FaultMessage is the text of the error an injected fault raises; it
// appears in the error the database returns.
const FaultMessage = "storetest: injected fault"

var faultSeq atomic.Int64

// healTimeout bounds dropping a fault's trigger, which on SQLite waits for
// the write lock a unit of work under test may hold.
const healTimeout = 30 * time.Second

// dsns remembers the DSN of each store Open opened, so that a fault can
// reach the same database on a connection of its own.
var dsns sync.Map // *store.DB → [2]string{driver, dsn}

// FailInserts makes every insert into table on db (a store Open opened)
// fail until the fault is healed.
func FailInserts(t testing.TB, db *store.DB, table string) *Fault {
	t.Helper()
	return FailInsertsWhen(t, db, table, "")
}

// FailInsertsWhen makes the inserts into table on db (a store Open opened)
// fail while cond holds: an SQL expression both SQLite and MySQL read, over
// the new row as NEW (NEW.origin LIKE 'fact:fever:%') or over the database
// (InsertNumber). An empty cond fails every insert.
func FailInsertsWhen(t testing.TB, db *store.DB, table, cond string) *Fault {
	t.Helper()
	v, ok := dsns.Load(db)
	if !ok {
		t.Fatal("storetest: FailInserts needs a store opened by storetest.Open (or use FailInsertsDSN)")
	}
	d := v.([2]string)
	return FailInsertsDSN(t, d[0], d[1], table, cond)
}

// InsertNumber is the condition of a fault on the n-th insert into table
// and every one after it, counted by the rows the table holds: with rows
// 1..n-1 present, the n-th insert fails, and so does every further one
// until Heal (a failed insert adds no row). Rows deleted or rolled back do
// not count.
func InsertNumber(table string, n int) string {
	return fmt.Sprintf("(SELECT COUNT(*) FROM %s) >= %d", table, n-1)
}

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// FailInsertsDSN is FailInsertsWhen for a database reached by its driver
// (store.DriverSQLite or store.DriverMySQL) and DSN — one that a program
// under test (towerbot serve) has open, say.
func FailInsertsDSN(t testing.TB, driver, dsn, table, cond string) *Fault {
	t.Helper()
	if !identifier.MatchString(table) {
		t.Fatalf("storetest: fault on table %q: not a plain table name", table)
	}
	var dial gorm.Dialector
	switch driver {
	case store.DriverSQLite:
		dial = sqlite.Open(withBusyTimeout(dsn))
	case store.DriverMySQL:
		dial = mysql.Open(dsn)
	default:
		t.Fatalf("storetest: fault on driver %q", driver)
	}
	conn, err := gorm.Open(dial, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("storetest: fault: open %s: %v", driver, err)
	}
	f := &Fault{t: t, conn: conn, table: table,
		name: fmt.Sprintf("storetest_fault_%d", faultSeq.Add(1))}
	var stmt string
	switch driver {
	case store.DriverSQLite:
		when := ""
		if cond != "" {
			when = " WHEN " + cond
		}
		stmt = fmt.Sprintf("CREATE TRIGGER %s BEFORE INSERT ON %s%s BEGIN SELECT RAISE(ABORT, '%s on %s'); END",
			f.name, table, when, FaultMessage, table)
	case store.DriverMySQL:
		raise := fmt.Sprintf("SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '%s on %s'", FaultMessage, table)
		if cond != "" {
			raise = fmt.Sprintf("BEGIN IF %s THEN %s; END IF; END", cond, raise)
		}
		stmt = fmt.Sprintf("CREATE TRIGGER %s BEFORE INSERT ON %s FOR EACH ROW %s", f.name, table, raise)
	}
	if err := conn.Exec(stmt).Error; err != nil {
		f.close()
		t.Fatalf("storetest: fault on %s: %v", table, err)
	}
	t.Cleanup(f.Heal)
	return f
}

// withBusyTimeout makes a connection to the SQLite database at dsn wait
// for the write lock (a unit of work under test holds it) instead of
// failing at once.
func withBusyTimeout(dsn string) string {
	if strings.Contains(dsn, "busy_timeout") {
		return dsn
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "_pragma=busy_timeout(10000)"
}

// Heal removes the fault: inserts into its table succeed again. Healing
// twice is harmless.
func (f *Fault) Heal() {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.healed {
		return
	}
	f.healed = true
	defer f.close()
	ctx, cancel := context.WithTimeout(context.Background(), healTimeout)
	defer cancel()
	if err := f.conn.WithContext(ctx).Exec("DROP TRIGGER IF EXISTS " + f.name).Error; err != nil {
		f.t.Errorf("storetest: heal the fault on %s: %v", f.table, err)
	}
}

func (f *Fault) close() {
	if sqlDB, err := f.conn.DB(); err == nil {
		sqlDB.Close()
	}
}
