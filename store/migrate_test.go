package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		v, err := db.SchemaVersion(ctx)
		if err != nil || v < 1 {
			t.Fatalf("after Open: version %d, err %v; want >= 1", v, err)
		}
		applied, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Fatalf("second Migrate applied %v; want nothing", applied)
		}
	})
}

// Replicas that start together migrate one at a time: every one succeeds
// and exactly one applies the steps.
func TestMigrateConcurrentReplicas(t *testing.T) {
	dsn := storetest.MySQLDSN(t)
	ctx := context.Background()
	const replicas = 4
	applied := make(chan int, replicas)
	errs := make(chan error, replicas)
	for i := 0; i < replicas; i++ {
		go func() {
			db, err := store.Open(store.DriverMySQL, dsn)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			steps, err := db.Migrate(ctx)
			errs <- err
			applied <- len(steps)
		}()
	}
	total := 0
	for i := 0; i < replicas; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	for i := 0; i < replicas; i++ {
		total += <-applied
	}
	db, err := store.Open(store.DriverMySQL, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	version, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if steps := store.MigrationSteps(); total != steps { // numbered up to version, maybe with gaps
		t.Fatalf("%d replicas applied %d steps in all; want each of the %d steps (up to version %d) applied once", replicas, total, steps, version)
	}
}

// A database made before version 3 — no message leases or retries, no
// post sources, no alerted levels — is brought to the models' shape, and
// its rows stay usable: a message pending at the upgrade is due at once.
func TestMigrateFromVersion1(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			db := oldDatabase(t, driver, 1, store.Version1TableOptions)
			// Version 1 made the tables from today's models: take away what
			// version 3 adds, as a database made by an old release lacks it.
			for _, stmt := range []string{
				"DROP INDEX ix_inbound_due ON inbound_messages",
				"DROP INDEX idx_outbox_items_message_id ON outbox_items",
				"ALTER TABLE inbound_messages DROP COLUMN mentioned",
				"ALTER TABLE inbound_messages DROP COLUMN attempts",
				"ALTER TABLE inbound_messages DROP COLUMN next_attempt_at",
				"ALTER TABLE inbound_messages DROP COLUMN lease_owner",
				"ALTER TABLE outbox_items DROP COLUMN message_id",
				"ALTER TABLE temperatures DROP COLUMN alerted_celsius",
			} {
				if driver == store.DriverSQLite && strings.HasPrefix(stmt, "DROP INDEX") {
					stmt = strings.Split(stmt, " ON ")[0]
				}
				if err := store.Exec(ctx, db, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			if err := store.Exec(ctx, db, "INSERT INTO inbound_messages (platform, platform_msg_id, chat_id, sender_id, sender_name, text, sent_at, received_at, kind, parsed, outcome, detail) "+
				"VALUES ('wecom', 'old-1', 'c', 'u', '张三', '体温 36.5', '2020-02-24 01:00:00', '2020-02-24 01:00:00', '', '', 'pending', '')"); err != nil {
				t.Fatal(err)
			}
			applied, err := db.Migrate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(applied) < 2 || !strings.HasPrefix(applied[0], "2 ") || !strings.HasPrefix(applied[1], "3 ") {
				t.Fatalf("applied %v; want versions 2, 3 and any later", applied)
			}
			due, err := db.DueInbound(ctx, time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC), time.Time{}, 0, 10)
			if err != nil || len(due) != 1 || due[0].PlatformMsgID != "old-1" || due[0].Attempts != 0 {
				t.Fatalf("old pending message after the upgrade: %+v, %v", due, err)
			}
			if err := db.EnqueueOutbox(ctx, store.OutboxItem{Origin: "msg:1:reply", GroupID: 1, MessageID: &due[0].ID,
				Platform: "wecom", Text: "已登记", Mentions: store.UserIDs{"u1", "u2"}}); err != nil {
				t.Fatal(err)
			}
			posts, err := db.OutboxByMessage(ctx, due[0].ID)
			if err != nil || len(posts) != 1 || strings.Join(posts[0].Mentions, ",") != "u1,u2" {
				t.Fatalf("post after the upgrade: %+v, %v", posts, err)
			}
		})
	}
}

// Version 14 drops the index on inbound_messages.outcome that older
// releases made (ix_inbound_due leads with the outcome), version 16 the one
// on temperatures.day (ix_temperature_cover leads with the day), and a new
// database never has the first: in both, making it again succeeds, which it
// would not were it there. Pending messages are still found by outcome.
func TestMigrateDropsTheOutcomeIndex(t *testing.T) {
	for _, driver := range []string{store.DriverSQLite, store.DriverMySQL} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			db := oldDatabase(t, driver, 13, store.TableOptions)
			const create = "CREATE INDEX idx_inbound_messages_outcome ON inbound_messages (outcome)"
			if err := store.Exec(ctx, db, create); err != nil {
				t.Fatalf("version 13's tables, as an old release made them: %v", err)
			}
			if err := store.Exec(ctx, db, "INSERT INTO inbound_messages (platform, platform_msg_id, chat_id, sender_id, sender_name, text, sent_at, received_at, kind, parsed, outcome, detail, next_attempt_at) "+
				"VALUES ('wecom', 'old-1', 'c', 'u', '张三', '体温 36.5', '2020-02-24 01:00:00', '2020-02-24 01:00:00', '', '', 'pending', '', '2020-02-24 01:00:00')"); err != nil {
				t.Fatal(err)
			}
			const createDay = "CREATE INDEX idx_temperatures_day ON temperatures (day)"
			if err := store.Exec(ctx, db, createDay); err != nil {
				t.Fatalf("version 13's tables, as an old release made them: %v", err)
			}
			applied, err := db.Migrate(ctx)
			if err != nil || len(applied) == 0 || !strings.HasPrefix(applied[0], "14 ") {
				t.Fatalf("applied %v, %v; want versions 14 on", applied, err)
			}
			if err := store.Exec(ctx, db, create); err != nil {
				t.Fatalf("the outcome index is still there after version 14: %v", err)
			}
			if err := store.Exec(ctx, db, createDay); err != nil {
				t.Fatalf("the day index is still there after version 16: %v", err)
			}
			pending, retried, err := db.CountPending(ctx)
			if err != nil || pending != 1 || retried != 0 {
				t.Fatalf("pending after the upgrade: %d (%d retried), %v; want 1", pending, retried, err)
			}
		})
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if err := store.Exec(context.Background(), db, "CREATE INDEX idx_inbound_messages_outcome ON inbound_messages (outcome)"); err != nil {
			t.Fatalf("a new database has the outcome index: %v", err)
		}
	})
}

// oldDatabase opens a database on driver made by the migration steps up to
// version alone — MySQL tables with tableOptions — as an older towerbot
// left it; it is closed at the end of the test.
func oldDatabase(t *testing.T, driver string, version int, tableOptions string) *store.DB {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "old.db")
	if driver == store.DriverMySQL {
		dsn = storetest.MySQLDSN(t)
	}
	db, err := store.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := store.MigrateTo(context.Background(), db, version, tableOptions); err != nil {
		t.Fatal(err)
	}
	return db
}
