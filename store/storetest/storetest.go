// Package storetest opens real databases for tests: SQLite in a temporary
// folder, and MariaDB/MySQL when it is reachable. No test in towerbot uses a
// mocked database, nor a mocked failure: a Fault makes the database itself
// refuse writes.
//
// MySQL is found at TOWERBOT_TEST_MYSQL_DSN (default
// root@tcp(127.0.0.1:3306)/test; see internal/testenv). When it is
// unreachable the MySQL half of a test is skipped loudly, unless
// TOWERBOT_REQUIRE_SERVICES=1 makes that a failure (as CI does).
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/towerbot/towerbot/internal/testenv"
	"github.com/towerbot/towerbot/store"
)

// DefaultMySQLDSN is used when TOWERBOT_TEST_MYSQL_DSN is unset.
const DefaultMySQLDSN = testenv.DefaultMySQLDSN

// RequireServices reports whether missing services must fail tests.
func RequireServices() bool { return testenv.RequireServices() }

// Each runs fn once per database: "sqlite" and "mysql", each with a fresh,
// migrated schema of its own.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			fn(t, Open(t, driver))
		})
	}
}

// SQLite opens a fresh migrated SQLite store in t's temporary folder.
func SQLite(t testing.TB) *store.DB { return Open(t, store.DriverSQLite) }

var dbSeq atomic.Int64

// Open opens a fresh migrated store on driver. For MySQL it creates a
// database of its own (dropped at cleanup) so parallel tests never share rows.
func Open(t testing.TB, driver string, opts ...store.Option) *store.DB {
	t.Helper()
	dsn := DSN(t, driver)
	db, err := store.Open(driver, dsn, opts...)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	dsns.Store(db, [2]string{driver, dsn})
	t.Cleanup(func() {
		dsns.Delete(db)
		db.Close()
	})
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("storetest: migrate: %v", err)
	}
	return db
}

// DSN returns the DSN of a fresh, empty database on driver for t: a file
// in t's temporary folder for SQLite, a database of its own for MySQL (see
// MySQLDSN).
func DSN(t testing.TB, driver string) string {
	t.Helper()
	switch driver {
	case store.DriverSQLite:
		return filepath.Join(t.TempDir(), "towerbot.db")
	case store.DriverMySQL:
		return mysqlDatabase(t)
	}
	t.Fatalf("storetest: unknown driver %q", driver)
	return ""
}

// MySQLDSN returns the DSN of a fresh, empty MySQL database for t, or skips
// (or fails, under TOWERBOT_REQUIRE_SERVICES=1) when MySQL is unreachable.
func MySQLDSN(t testing.TB) string { return mysqlDatabase(t) }

func mysqlDatabase(t testing.TB) string {
	t.Helper()
	base := testenv.MySQLDSN()
	admin, err := sql.Open("mysql", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), testenv.Timeout)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		msg := fmt.Sprintf("MySQL unreachable at %s: %v", testenv.RedactDSN(base), err)
		if RequireServices() {
			t.Fatalf("%s (TOWERBOT_REQUIRE_SERVICES=1)", msg)
		}
		t.Skipf("SKIPPING MYSQL TESTS: %s; set TOWERBOT_REQUIRE_SERVICES=1 to make this a failure", msg)
	}
	defer admin.Close()
	name := fmt.Sprintf("towerbot_t%d_%d", os.Getpid(), dbSeq.Add(1))
	// The database's default is deliberately not towerbot's collation (it
	// is the server default of deployments/compose.yaml and of databases
	// made for towerbot's schema version 1): migrating must set the
	// collation of every table, and the database's own default, itself.
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatalf("storetest: create database: %v", err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("mysql", base); err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name)
			db.Close()
		}
	})
	// Replace the database name in the DSN: user@tcp(host)/DB?params.
	slash := strings.LastIndex(base, "/")
	if slash < 0 {
		t.Fatalf("storetest: DSN %q has no /database", base)
	}
	rest := ""
	if q := strings.IndexByte(base[slash:], '?'); q >= 0 {
		rest = base[slash+q:]
	}
	return base[:slash+1] + name + rest
}

// PeopleByPhone returns everyone who holds a role in the stored roster,
// keyed by phone (the roster's key for a person): how tests find the
// people a roster fixture created.
func PeopleByPhone(t testing.TB, db *store.DB) map[string]store.Person {
	t.Helper()
	ctx := context.Background()
	nodes, err := db.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Person{}
	for _, n := range nodes {
		for _, role := range store.Roles {
			ps, err := db.PeopleWithRole(ctx, n.ID, role)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				out[p.Phone] = p
			}
		}
	}
	return out
}

// Int64s runs query on conn and returns its one column of integers (ids,
// counts), failing t on any error.
func Int64s(t testing.TB, conn *sql.DB, query string, args ...any) []int64 {
	t.Helper()
	rows, err := conn.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

// Replica opens a second store on db's database (db opened by Open): what
// another replica of towerbot has open.
func Replica(t testing.TB, db *store.DB) *store.DB {
	t.Helper()
	v, ok := dsns.Load(db)
	if !ok {
		t.Fatal("storetest: Replica needs a store opened by storetest.Open")
	}
	d := v.([2]string)
	other, err := store.Open(d[0], d[1])
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}
