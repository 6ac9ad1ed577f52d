package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// A unit of work commits every write made with its context, or none.
func TestAtomicCommitsAllOrNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC)
		boom := errors.New("boom")
		committed := 0
		err := db.Atomic(ctx, func(ctx context.Context) error {
			if err := db.EnqueueOutbox(ctx, item("t:1", 1, "一")); err != nil {
				return err
			}
			if _, err := db.StartJobRun(ctx, "job", at); err != nil {
				return err
			}
			store.AfterCommit(ctx, func() { committed++ })
			// A nested unit joins the outer one: its failure fails both.
			return db.Atomic(ctx, func(ctx context.Context) error {
				if err := db.EnqueueOutbox(ctx, item("t:2", 1, "二")); err != nil {
					return err
				}
				return boom
			})
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Atomic = %v, want boom", err)
		}
		if committed != 0 {
			t.Fatal("AfterCommit ran for a unit that rolled back")
		}
		if items, _ := db.OutboxByOriginPrefix(ctx, "t:"); len(items) != 0 {
			t.Fatalf("rolled-back unit left posts: %+v", items)
		}
		if again, err := db.StartJobRun(ctx, "job", at); err != nil || !again {
			t.Fatalf("rolled-back unit left its job run: started=%v err=%v", again, err)
		}

		err = db.Atomic(ctx, func(ctx context.Context) error {
			store.AfterCommit(ctx, func() { committed++ })
			if committed != 0 {
				t.Error("AfterCommit ran before the commit")
			}
			return db.EnqueueOutbox(ctx, item("t:1", 1, "一"), item("t:2", 1, "二"))
		})
		if err != nil || committed != 1 {
			t.Fatalf("Atomic = %v, after-commit runs %d, want nil and 1", err, committed)
		}
		if items, _ := db.OutboxByOriginPrefix(ctx, "t:"); len(items) != 2 {
			t.Fatalf("committed unit: %d posts, want 2", len(items))
		}
		ran := false
		store.AfterCommit(ctx, func() { ran = true })
		if !ran {
			t.Fatal("AfterCommit outside a unit did not run at once")
		}
	})
}

// A unit that loses a race (a unique key a rival filled first, a deadlock)
// runs again from the start, with nothing of the lost run kept; any other
// error is returned at once.
func TestAtomicRunsAgainAfterARace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		runs := 0
		err := db.Atomic(ctx, func(ctx context.Context) error {
			runs++
			if err := db.EnqueueOutbox(ctx, item(fmt.Sprintf("race:%d", runs), 1, "x")); err != nil {
				return err
			}
			if runs == 1 {
				return fmt.Errorf("insert: %w", gorm.ErrDuplicatedKey)
			}
			return nil
		})
		if err != nil || runs != 2 {
			t.Fatalf("Atomic = %v after %d runs, want nil after 2", err, runs)
		}
		items, _ := db.OutboxByOriginPrefix(ctx, "race:")
		if len(items) != 1 || items[0].Origin != "race:2" {
			t.Fatalf("posts after a lost race: %+v, want race:2 only", items)
		}

		runs = 0
		err = db.Atomic(ctx, func(ctx context.Context) error {
			runs++
			return errors.New("not a race")
		})
		if err == nil || runs != 1 {
			t.Fatalf("Atomic = %v after %d runs, want the error after 1", err, runs)
		}
	})
}

// A savepoint undoes its own part of a unit when it fails, and the rest of
// the unit commits: one message of a batch refused alone.
func TestSavepointUndoesItsPartOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		refused := errors.New("refused")
		err := db.Atomic(ctx, func(ctx context.Context) error {
			if err := db.Savepoint(ctx, func(ctx context.Context) error {
				return db.EnqueueOutbox(ctx, item("sp:1", 1, "一"))
			}); err != nil {
				return err
			}
			if err := db.Savepoint(ctx, func(ctx context.Context) error {
				if err := db.EnqueueOutbox(ctx, item("sp:2", 1, "二")); err != nil {
					return err
				}
				return refused
			}); !errors.Is(err, refused) {
				return fmt.Errorf("second savepoint: %v", err)
			}
			return db.Savepoint(ctx, func(ctx context.Context) error {
				return db.EnqueueOutbox(ctx, item("sp:3", 1, "三"))
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		items, _ := db.OutboxByOriginPrefix(ctx, "sp:")
		var got []string
		for _, it := range items {
			got = append(got, string(it.Origin))
		}
		if fmt.Sprint(got) != "[sp:1 sp:3]" {
			t.Fatalf("after a failed savepoint: %v, want sp:1 and sp:3", got)
		}
	})
}

// On MySQL every connection reads committed data by default, so a unit of
// work needs no statement of its own to ask for it.
func TestUnitsReadCommitted(t *testing.T) {
	db := storetest.Open(t, store.DriverMySQL)
	ctx := context.Background()
	err := db.Atomic(ctx, func(ctx context.Context) error {
		var level []string
		for _, v := range []string{"@@tx_isolation", "@@transaction_isolation"} {
			if err := store.QueryIn(ctx, db, &level, "SELECT "+v); err == nil && len(level) == 1 {
				if level[0] != "READ-COMMITTED" {
					t.Errorf("%s = %s, want READ-COMMITTED", v, level[0])
				}
				return nil
			}
		}
		t.Error("the isolation level could not be read")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A savepoint is taken only before the first write inside it, and then
// undoes every write after it: a part that only reads fails without a
// statement to undo, a part that writes is undone whole, and a savepoint
// begun inside another is undone with the outer one even when the outer
// had written nothing before it.
func TestSavepointTakenBeforeFirstWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		refused := errors.New("refused")
		chat := func(ctx context.Context, id string) error {
			_, err := db.RecordChat(ctx, "sandbox", id, id)
			return err
		}
		err := db.Atomic(ctx, func(ctx context.Context) error {
			// Reads only, then refused.
			if err := db.Savepoint(ctx, func(ctx context.Context) error {
				if _, err := db.GroupByChat(ctx, "sandbox", "none"); !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("read: %v", err)
				}
				return refused
			}); !errors.Is(err, refused) {
				return fmt.Errorf("read-only savepoint: %v", err)
			}
			// Reads, writes, refused: the write is undone.
			if err := db.Savepoint(ctx, func(ctx context.Context) error {
				if _, err := db.GroupByChat(ctx, "sandbox", "undone"); !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("read: %v", err)
				}
				if err := chat(ctx, "undone"); err != nil {
					return err
				}
				return refused
			}); !errors.Is(err, refused) {
				return fmt.Errorf("writing savepoint: %v", err)
			}
			// The inner part writes and succeeds; the outer is refused.
			if err := db.Savepoint(ctx, func(ctx context.Context) error {
				if err := db.Savepoint(ctx, func(ctx context.Context) error { return chat(ctx, "inner") }); err != nil {
					return err
				}
				return refused
			}); !errors.Is(err, refused) {
				return fmt.Errorf("outer savepoint: %v", err)
			}
			// A part that writes and succeeds stands.
			return db.Savepoint(ctx, func(ctx context.Context) error { return chat(ctx, "kept") })
		})
		if err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]bool{"undone": false, "inner": false, "kept": true} {
			_, err := db.GroupByChat(ctx, "sandbox", id)
			if got := err == nil; got != want {
				t.Errorf("chat %s recorded = %v (%v), want %v", id, got, err, want)
			}
		}
	})
}
