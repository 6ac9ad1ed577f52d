package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// checkBinaryCollation fails t unless every table and text column of a
// MySQL store, the database's default and the connection compare bytes
// (utf8mb4_bin). On SQLite there is nothing to check: it compares bytes.
func checkBinaryCollation(t *testing.T, db *store.DB) {
	t.Helper()
	if db.Driver() != store.DriverMySQL {
		return
	}
	ctx := context.Background()
	const want = "utf8mb4_bin"
	var tables []struct{ TableName, TableCollation string }
	if err := store.Query(ctx, db, &tables, "SELECT TABLE_NAME AS table_name, TABLE_COLLATION AS table_collation"+
		" FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tb := range tables {
		seen[tb.TableName] = true
		if tb.TableCollation != want {
			t.Errorf("table %s: collation %s; want %s", tb.TableName, tb.TableCollation, want)
		}
	}
	for _, name := range []string{"schema_migrations", "nodes", "people", "identities", "groups", "temperatures", "inbound_messages"} {
		if !seen[name] {
			t.Errorf("table %s missing from information_schema (have %d tables)", name, len(tables))
		}
	}
	var columns []struct{ TableName, ColumnName, CollationName string }
	if err := store.Query(ctx, db, &columns, "SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name,"+
		" COLLATION_NAME AS collation_name FROM information_schema.COLUMNS"+
		" WHERE TABLE_SCHEMA = DATABASE() AND COLLATION_NAME IS NOT NULL"); err != nil {
		t.Fatal(err)
	}
	if len(columns) < 40 {
		t.Errorf("only %d text columns in information_schema; want every table's", len(columns))
	}
	for _, c := range columns {
		if c.CollationName != want {
			t.Errorf("column %s.%s: collation %s; want %s", c.TableName, c.ColumnName, c.CollationName, want)
		}
	}
	var other []string
	if err := store.Query(ctx, db, &other, "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()"); err != nil {
		t.Fatal(err)
	}
	if len(other) != 1 || other[0] != want {
		t.Errorf("the database's default collation is %v; want %s", other, want)
	}
	if err := store.Query(ctx, db, &other, "SELECT @@collation_connection"); err != nil {
		t.Fatal(err)
	}
	if len(other) != 1 || other[0] != want {
		t.Errorf("the connection's collation is %v; want %s", other, want)
	}
}

// A database migrated from scratch creates every table with the binary
// collation (and converting its empty tables is then nothing to do).
func TestFreshSchemaComparesBytes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if v, err := db.SchemaVersion(context.Background()); err != nil || v < 2 {
			t.Fatalf("SchemaVersion = %d, %v; want at least 2", v, err)
		}
		checkBinaryCollation(t, db)
	})
}

// A database that towerbot's schema version 1 created — utf8mb4_unicode_ci
// tables, written through a utf8mb4_unicode_ci connection — is converted by
// `towerbot migrate` (Migrate), keeps its rows, and from then on tells apart
// the keys that version 1 confused.
func TestMigrateConvertsVersion1Database(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, driver)

			// The database as version 1 left it.
			oldDSN := dsn
			if driver == store.DriverMySQL {
				oldDSN = withParam(dsn, "collation=utf8mb4_unicode_ci")
			}
			old, err := store.Open(driver, oldDSN)
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			if applied, err := store.MigrateTo(ctx, old, 1, store.Version1TableOptions); err != nil || len(applied) != 1 {
				t.Fatalf("migrate to version 1: applied %v, %v", applied, err)
			}
			if driver == store.DriverMySQL {
				var coll []string
				if err := store.Query(ctx, old, &coll, "SELECT COLLATION_NAME FROM information_schema.COLUMNS"+
					" WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'temperatures' AND COLUMN_NAME = 'name'"); err != nil {
					t.Fatal(err)
				}
				if len(coll) != 1 || coll[0] != "utf8mb4_unicode_ci" {
					t.Fatalf("version 1's temperatures.name has collation %v; the test must start from utf8mb4_unicode_ci", coll)
				}
			}
			nodes := []store.Node{{Code: "FT-01", Name: "方塘村一区", Tier: store.TierUnit},
				{Code: "FT-02", Name: "方塘村二区", Tier: store.TierUnit}}
			insert(t, old, &nodes)
			people := []store.Person{{Name: "abc", Phone: "13900000001"}}
			insert(t, old, &people)
			insert(t, old, &[]store.Identity{{Platform: "wecom", UserID: "ZhangSan", PersonID: people[0].ID}})
			// As a 绑定 made it (today's BindGroup also bumps the directory
			// version, a table version 1 did not have).
			insert(t, old, &[]store.Group{{Platform: "wecom", ChatID: "wrOgXb0001", Name: "一区群", NodeID: &nodes[0].ID}})
			if _, err := old.RecordTemperatures(ctx, store.TemperatureLog{NodeID: nodes[0].ID, Day: "2020-02-24",
				ReporterID: 1, MessageID: 1, Entries: []store.TemperatureEntry{{Name: "abc", Celsius: 36.5}, {Name: "𠀀三", Celsius: 36.6}}}); err != nil {
				t.Fatal(err)
			}
			old.Close()

			// towerbot migrate, by today's towerbot.
			db, err := store.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			applied, err := db.Migrate(ctx)
			if err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if len(applied) == 0 || !strings.HasPrefix(applied[0], "2 ") {
				t.Fatalf("Migrate applied %v; want step 2 first", applied)
			}
			checkBinaryCollation(t, db)
			if again, err := db.Migrate(ctx); err != nil || len(again) != 0 {
				t.Fatalf("second Migrate: applied %v, %v; want nothing", again, err)
			}

			// The rows are kept…
			rows, err := db.TemperaturesOn(ctx, "2020-02-24", nodes[0].ID)
			if err != nil || len(rows) != 2 {
				t.Fatalf("TemperaturesOn after migrating = %+v, %v; want abc and 𠀀三", rows, err)
			}
			// …and keys that differ in case, in rare characters or by a NUL
			// are different keys now.
			if _, err := db.RecordTemperatures(ctx, store.TemperatureLog{NodeID: nodes[0].ID, Day: "2020-02-24",
				ReporterID: 1, MessageID: 2, Entries: []store.TemperatureEntry{{Name: "ABC", Celsius: 38.0}, {Name: "𪚥三", Celsius: 36.7}}}); err != nil {
				t.Fatal(err)
			}
			want := map[string]float64{"abc": 36.5, "ABC": 38.0, "𠀀三": 36.6, "𪚥三": 36.7}
			rows, err = db.TemperaturesOn(ctx, "2020-02-24", nodes[0].ID)
			if err != nil || len(rows) != len(want) {
				t.Fatalf("TemperaturesOn = %+v, %v; want one row each of abc, ABC, 𠀀三, 𪚥三", rows, err)
			}
			for _, r := range rows {
				if r.Celsius != want[r.Name] {
					t.Errorf("%s: %.1f; want %.1f", r.Name, r.Celsius, want[r.Name])
				}
			}
			insert(t, db, &[]store.Node{{Code: "ft-01", Name: "另一个一区", Tier: store.TierUnit}})
			if n, err := db.NodeByCode(ctx, "FT-01"); err != nil || n.ID != nodes[0].ID {
				t.Errorf("NodeByCode(FT-01) = %+v, %v; want the node from version 1", n, err)
			}
			if n, err := db.NodeByCode(ctx, "ft-01"); err != nil || n.ID == nodes[0].ID {
				t.Errorf("NodeByCode(ft-01) = %+v, %v; want the new node", n, err)
			}
			if n, err := db.NodeByCode(ctx, "FT-01\x00"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("NodeByCode(FT-01\\x00) = %+v, %v; want not found", n, err)
			}
			if _, err := db.BindGroup(ctx, "wecom", "wrogxb0001", "二区群", nodes[1].ID); err != nil {
				t.Errorf("BindGroup(wrogxb0001) to another node: %v; want a chat of its own", err)
			}
			if g, err := db.GroupByChat(ctx, "wecom", "wrOgXb0001"); err != nil || *g.NodeID != nodes[0].ID {
				t.Errorf("GroupByChat(wrOgXb0001) = %+v, %v; want still bound to FT-01", g, err)
			}
			if p, err := db.PersonByIdentity(ctx, "wecom", "zhangsan"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("PersonByIdentity(wecom, zhangsan) = %+v, %v; want not found", p, err)
			}
			if p, err := db.PersonByIdentity(ctx, "wecom", "ZhangSan"); err != nil || p.ID != people[0].ID {
				t.Errorf("PersonByIdentity(wecom, ZhangSan) = %+v, %v; want abc", p, err)
			}
		})
	}
}

// withParam adds a parameter to a go-sql-driver DSN.
func withParam(dsn, param string) string {
	if strings.Contains(dsn, "?") {
		return dsn + "&" + param
	}
	return dsn + "?" + param
}
