package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// TestDirectoryVersion: every write to the directory bumps its version in
// its own transaction — a roster import, a bind, an unbind, a mirror that
// added something — and nothing else does: not a mirror that found all in
// place, not an unbind of an unknown chat, not a bind rolled back. Those
// listening hear each new version once it has committed, never before.
func TestDirectoryVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		var heard []int64
		db.OnDirectoryChange(func(v int64) {
			mu.Lock()
			heard = append(heard, v)
			mu.Unlock()
		})
		version := func() int64 {
			t.Helper()
			v, err := db.DirectoryVersionOf(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		expect := func(what string, want int64) {
			t.Helper()
			if got := version(); got != want {
				t.Errorf("after %s: version %d; want %d", what, got, want)
			}
			mu.Lock()
			defer mu.Unlock()
			if want > 1 && (len(heard) == 0 || heard[len(heard)-1] != want) {
				t.Errorf("after %s: heard %v; want %d last", what, heard, want)
			}
		}
		v := version()
		expect("migrating", v)

		applyFixture(t, db)
		v++
		expect("an import", v)
		ids := nodeIDs(t, db)
		if _, err := db.BindGroup(ctx, "wecom", "wrNew", "新群", ids["FT-02"]); err != nil {
			t.Fatal(err)
		}
		v++
		expect("a bind", v)
		if _, err := db.BindGroup(ctx, "wecom", "wrNew", "新群", ids["FT-01"]); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a bind elsewhere: %v", err)
		}
		expect("a bind refused", v)
		if err := db.UnbindGroup(ctx, "wecom", "wrNew"); err != nil {
			t.Fatal(err)
		}
		v++
		expect("an unbind", v)
		if err := db.UnbindGroup(ctx, "wecom", "wrNobody"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an unknown chat: %v", err)
		}
		expect("an unbind of an unknown chat", v)
		if _, err := db.MirrorRoster(ctx, "sandbox"); err != nil {
			t.Fatal(err)
		}
		v++
		expect("a mirror", v)
		if _, err := db.MirrorRoster(ctx, "sandbox"); err != nil {
			t.Fatal(err)
		}
		expect("a mirror with all in place", v)

		// Inside a unit: the unit knows it changed the directory; the
		// listeners hear of it at the commit, not before.
		mu.Lock()
		before := len(heard)
		mu.Unlock()
		err := db.Atomic(ctx, func(ctx context.Context) error {
			if store.DirectoryChanged(ctx) {
				t.Error("a unit that has written nothing has changed the directory")
			}
			if _, err := db.BindGroup(ctx, "wecom", "wrUnit", "", ids["SH-01"]); err != nil {
				return err
			}
			if !store.DirectoryChanged(ctx) {
				t.Error("a unit that bound a group has not changed the directory")
			}
			mu.Lock()
			defer mu.Unlock()
			if len(heard) != before {
				t.Errorf("heard %v before the commit", heard[before:])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		v++
		expect("a bind in a unit", v)
		if store.DirectoryChanged(ctx) {
			t.Error("a context outside any unit has changed the directory")
		}

		errRollback := errors.New("roll back")
		err = db.Atomic(ctx, func(ctx context.Context) error {
			if _, err := db.BindGroup(ctx, "wecom", "wrGone", "", ids["SH-01"]); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		expect("a bind rolled back", v)
		mu.Lock()
		if len(heard) != before+1 {
			t.Errorf("heard %v; want one version more than before the unit", heard)
		}
		mu.Unlock()

		// The whole directory, at the version it had.
		rows, err := db.LoadDirectory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		nodes, _ := db.Nodes(ctx)
		groups, _ := db.Groups(ctx, "")
		if rows.Version != v || len(rows.Nodes) != len(nodes) || len(rows.Groups) != len(groups) ||
			len(rows.People) == 0 || len(rows.Identities) == 0 || len(rows.Memberships) == 0 {
			t.Errorf("LoadDirectory: version %d, %d nodes, %d groups, %d people, %d identities, %d memberships",
				rows.Version, len(rows.Nodes), len(rows.Groups), len(rows.People), len(rows.Identities), len(rows.Memberships))
		}
		err = db.Atomic(ctx, func(ctx context.Context) error {
			_, err := db.LoadDirectory(ctx)
			return err
		})
		if err == nil {
			t.Error("LoadDirectory inside a unit of work: no error")
		}
	})
}
