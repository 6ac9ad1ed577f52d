package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func TestLoginLockOutHoldsInTheDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
		// Four replicas fail the same phone at once: every failure counts.
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := db.LoginFailed(ctx, "13900000001", 5, 15*time.Minute, now); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if until, _ := db.LoginLockedUntil(ctx, "13900000001", now); !until.IsZero() {
			t.Fatalf("locked after 4 failures until %v", until)
		}
		until, err := db.LoginFailed(ctx, "13900000001", 5, 15*time.Minute, now)
		if err != nil || !until.Equal(now.Add(15*time.Minute)) {
			t.Fatalf("fifth failure: until %v, %v", until, err)
		}
		got, err := db.LoginLockedUntil(ctx, "13900000001", now.Add(time.Minute))
		if err != nil || !got.Equal(until) {
			t.Fatalf("locked until %v, %v; want %v", got, err, until)
		}
		if got, _ := db.LoginLockedUntil(ctx, "13900000001", now.Add(16*time.Minute)); !got.IsZero() {
			t.Fatalf("still locked after the lock: %v", got)
		}
		// Another phone is untouched; a success clears the count.
		if got, _ := db.LoginLockedUntil(ctx, "13900000002", now); !got.IsZero() {
			t.Fatal("an untouched phone is locked")
		}
		for range 4 {
			if _, err := db.LoginFailed(ctx, "13900000002", 5, time.Minute, now); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.LoginSucceeded(ctx, "13900000002"); err != nil {
			t.Fatal(err)
		}
		if until, _ := db.LoginFailed(ctx, "13900000002", 5, time.Minute, now); !until.IsZero() {
			t.Fatal("the count survived a success")
		}
		// Failures a day old are forgotten: four then, one a day later,
		// and the lock comes only with the fifth of the new day.
		for range 3 {
			if _, err := db.LoginFailed(ctx, "13900000002", 5, time.Minute, now); err != nil {
				t.Fatal(err)
			}
		}
		later := now.Add(25 * time.Hour)
		for i := 1; i <= 5; i++ {
			until, err := db.LoginFailed(ctx, "13900000002", 5, time.Minute, later)
			if err != nil || (i < 5) != until.IsZero() {
				t.Fatalf("failure %d of the next day: locked until %v, %v", i, until, err)
			}
		}
	})
}

func TestSessionsInvitesAndPasswords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallTree(t, db)
		p, err := db.PersonByPhone(ctx, "13900000001")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.PersonByPhone(ctx, "13900009999"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown phone: %v", err)
		}
		if _, err := db.AccountOf(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("account before any password: %v", err)
		}
		now := db.Now()
		hash := strings.Repeat("a", 64)
		s := &store.WebSession{TokenHash: hash, PersonID: p.ID, CSRF: "c", ExpiresAt: now.Add(time.Hour)}
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if got, err := db.SessionByHash(ctx, hash, now); err != nil || got.PersonID != p.ID {
			t.Fatalf("session: %+v %v", got, err)
		}
		if _, err := db.SessionByHash(ctx, hash, now.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired session found: %v", err)
		}
		// Setting a password ends the sessions.
		if err := db.SetPassword(ctx, p.ID, "h1"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionByHash(ctx, hash, now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session outlived a new password: %v", err)
		}
		if err := db.SetPassword(ctx, p.ID, "h2"); err != nil {
			t.Fatal(err)
		}
		if a, err := db.AccountOf(ctx, p.ID); err != nil || a.PasswordHash != "h2" {
			t.Fatalf("account: %+v %v", a, err)
		}
		// An invite sets a password once, within its time.
		inv := &store.LoginInvite{TokenHash: strings.Repeat("b", 64), PersonID: p.ID, ExpiresAt: now.Add(24 * time.Hour)}
		if err := db.CreateInvite(ctx, inv); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UseInvite(ctx, inv.TokenHash, "h3", now.Add(25*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired invite used: %v", err)
		}
		if who, err := db.UseInvite(ctx, inv.TokenHash, "h3", now); err != nil || who != p.ID {
			t.Fatalf("invite: %d %v", who, err)
		}
		if _, err := db.UseInvite(ctx, inv.TokenHash, "h4", now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("invite used twice: %v", err)
		}
		if a, _ := db.AccountOf(ctx, p.ID); a.PasswordHash != "h3" {
			t.Fatalf("hash %q after the invite", a.PasswordHash)
		}
	})
}

func TestDashboardReadsStayInTheirNodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallTree(t, db)
		c1, _ := db.NodeByCode(ctx, "C1")
		c2, _ := db.NodeByCode(ctx, "C2")
		sec, _ := db.PersonByPhone(ctx, "13900000001")
		for _, n := range []int64{c1.ID, c2.ID} {
			if err := db.LogExport(ctx, &store.ExportLog{PersonID: sec.ID, NodeID: n, Kind: "daily", Params: "2026-03-01"}); err != nil {
				t.Fatal(err)
			}
		}
		logs, err := db.ExportLogs(ctx, []int64{c1.ID}, 10)
		if err != nil || len(logs) != 1 || logs[0].NodeID != c1.ID {
			t.Fatalf("export logs of C1: %+v %v", logs, err)
		}
		if err := db.LogExport(ctx, &store.ExportLog{PersonID: sec.ID, NodeID: c1.ID}); err == nil {
			t.Fatal("an export without a kind was logged")
		}
		u1, _ := db.NodeByCode(ctx, "U1")
		l1, _ := db.NodeByCode(ctx, "L1")
		found, err := db.SearchPeople(ctx, []int64{c1.ID, u1.ID, l1.ID}, "甲", 10)
		if err != nil || len(found) != 1 || found[0].Name != "甲" || found[0].Role != store.RoleLandlord {
			t.Fatalf("search 甲: %+v %v", found, err)
		}
		if found, _ := db.SearchPeople(ctx, []int64{c1.ID, u1.ID, l1.ID}, "丙", 10); len(found) != 0 {
			t.Fatalf("a landlord of C2 found under C1: %+v", found)
		}
		if found, _ := db.SearchPeople(ctx, []int64{c1.ID}, "%", 10); len(found) != 0 {
			t.Fatalf("a wildcard matched: %+v", found)
		}
	})
}
