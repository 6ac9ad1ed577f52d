package store_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// On MySQL a unit of work runs on a transaction begun ahead, as the unit
// before it began (parked): its writes commit, a failed one's roll back.
// A parked transaction left waiting too long is rolled back rather than
// used — here the server closed its connection meanwhile, as an idle
// timeout or a restart would — and the unit runs all the same. Closing
// the store rolls back what is parked. SQLite parks nothing.
func TestUnitsRunOnTransactionsBegunAhead(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.MySQLDSN(t)
	db, err := store.Open(store.DriverMySQL, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	connections := func() []int64 {
		t.Helper()
		return storetest.Int64s(t, admin, "SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()")
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 3s", what)
			}
		}
	}
	post := func(origin string, fail error) error {
		return db.Atomic(ctx, func(ctx context.Context) error {
			if err := db.EnqueueOutbox(ctx, store.OutboxItem{Origin: store.Origin(origin), GroupID: 1, Platform: "sandbox", Text: origin}); err != nil {
				return err
			}
			return fail
		})
	}
	stored := func() string {
		t.Helper()
		items, err := db.OutboxForGroup(ctx, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, it := range items {
			texts = append(texts, it.Text)
		}
		return strings.Join(texts, " ")
	}

	if err := post("a", nil); err != nil {
		t.Fatal(err)
	}
	waitFor("a transaction parked", func() bool { return store.Parked(db) > 0 })
	if err := post("b", nil); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	waitFor("a transaction parked", func() bool { return store.Parked(db) > 0 })
	if err := post("c", boom); !errors.Is(err, boom) {
		t.Fatalf("a failing unit: %v", err)
	}
	if got := stored(); got != "a b" {
		t.Fatalf("stored %q; want a b: the units run on parked transactions commit, the failed one rolls back", got)
	}

	store.ParkFor(db, 50*time.Millisecond)
	waitFor("a transaction parked", func() bool { return store.Parked(db) > 0 })
	for _, id := range connections() {
		if _, err := admin.Exec("KILL ?", id); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if err := post("d", nil); err != nil {
		t.Fatalf("a unit after its parked transaction's connection was closed: %v", err)
	}
	if got := stored(); got != "a b d" {
		t.Fatalf("stored %q; want a b d", got)
	}

	waitFor("a transaction parked", func() bool { return store.Parked(db) > 0 })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor("every connection closed", func() bool { return len(connections()) == 0 })

	lite := storetest.SQLite(t)
	if err := lite.Atomic(ctx, func(ctx context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if n := store.Parked(lite); n != 0 {
		t.Fatalf("SQLite parked %d transactions", n)
	}
}
