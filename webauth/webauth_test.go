package webauth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
	"github.com/towerbot/towerbot/webauth"
)

func roster(t *testing.T, db *store.DB) {
	t.Helper()
	_, err := db.ApplyRoster(context.Background(), store.Roster{
		Nodes: []store.RosterNode{{Code: "S", Name: "街道", Tier: 1}, {Code: "C", Name: "社区", Tier: 2, ParentCode: "S"},
			{Code: "U", Name: "单元", Tier: 3, ParentCode: "C"}, {Code: "L", Name: "房", Tier: 4, ParentCode: "U"}},
		People: []store.RosterPerson{
			{Name: "书记", Phone: "13900000001", Roles: []store.RosterRole{{NodeCode: "C", Role: store.RoleSecretary}}},
			{Name: "房东", Phone: "13900000002", Roles: []store.RosterRole{{NodeCode: "L", Role: store.RoleLandlord}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPasswordHashing(t *testing.T) {
	h, err := webauth.HashPassword("绿水青山 2020!")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := webauth.HashPassword("绿水青山 2020!")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !webauth.CheckPassword(h, "绿水青山 2020!") || webauth.CheckPassword(h, "绿水青山 2020?") {
		t.Fatal("check does not tell the right password from a wrong one")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=0,t=1,p=1$AA$AA", "plain", h[:len(h)-4]} {
		if webauth.CheckPassword(bad, "绿水青山 2020!") {
			t.Fatalf("malformed hash %q matched", bad)
		}
	}
}

func TestStrength(t *testing.T) {
	for _, pw := range []string{"short1!", "abcdefghijkl", "12345678901234", "aaaaa11111", "1234567890", "Password123",
		"x13900000001y"} {
		if err := webauth.CheckStrength(pw, "13900000001"); !errors.Is(err, webauth.ErrWeakPassword) {
			t.Errorf("%q accepted: %v", pw, err)
		}
	}
	for _, pw := range []string{"tower-bot-2020", "方塘村 巡查 7 号"} {
		if err := webauth.CheckStrength(pw, "13900000001"); err != nil {
			t.Errorf("%q refused: %v", pw, err)
		}
	}
}

func TestLoginLockOutAndSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		roster(t, db)
		now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		svc := webauth.New(db, webauth.Config{SessionLifetime: time.Hour, MaxFailures: 5, LockFor: 15 * time.Minute, Now: clock})

		if _, err := svc.SetPassword(ctx, "13900000001", "123"); !errors.Is(err, webauth.ErrWeakPassword) {
			t.Fatalf("weak password set: %v", err)
		}
		if _, err := svc.SetPassword(ctx, "13900000002", "tower-bot-2020"); !errors.Is(err, webauth.ErrNoRole) {
			t.Fatalf("a landlord got a login: %v", err)
		}
		if _, err := svc.SetPassword(ctx, "13900009999", "tower-bot-2020"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a stranger got a login: %v", err)
		}
		if _, err := svc.SetPassword(ctx, "13900000001", "tower-bot-2020"); err != nil {
			t.Fatal(err)
		}

		// Unknown phone, no account, wrong password: the same answer.
		for _, c := range [][2]string{{"13900009999", "tower-bot-2020"}, {"13900000002", "tower-bot-2020"}, {"13900000001", "wrong-pass-1"}} {
			if _, err := svc.Login(ctx, c[0], c[1]); !errors.Is(err, webauth.ErrBadLogin) {
				t.Fatalf("login %s: %v, want ErrBadLogin", c[0], err)
			}
		}
		s, err := svc.Login(ctx, "13900000001", "tower-bot-2020")
		if err != nil || s.Token == "" || s.CSRF == "" {
			t.Fatalf("login: %+v %v", s, err)
		}
		got, err := svc.Session(ctx, s.Token)
		if err != nil || got.PersonID != s.PersonID || got.CSRF != s.CSRF {
			t.Fatalf("session: %+v %v", got, err)
		}
		if _, err := svc.Session(ctx, s.Token+"x"); err == nil {
			t.Fatal("a forged token is a session")
		}
		// Five failures in a row lock the phone, even for the right
		// password, and a stranger's phone the same way.
		for _, phone := range []string{"13900000001", "13900008888"} {
			for i := 1; i <= 5; i++ {
				_, err := svc.Login(ctx, phone, "wrong-pass-1")
				want := webauth.ErrBadLogin
				if i == 5 {
					want = webauth.ErrLocked
				}
				if !errors.Is(err, want) {
					t.Fatalf("%s failure %d: %v, want %v", phone, i, err, want)
				}
			}
		}
		if _, err := svc.Login(ctx, "13900000001", "tower-bot-2020"); !errors.Is(err, webauth.ErrLocked) {
			t.Fatalf("locked phone logged in: %v", err)
		}
		// The lock is in the database: a second service (another replica,
		// or after a restart) sees it.
		other := webauth.New(db, webauth.Config{Now: clock})
		if _, err := other.Login(ctx, "13900000001", "tower-bot-2020"); !errors.Is(err, webauth.ErrLocked) {
			t.Fatalf("another replica let a locked phone in: %v", err)
		}
		now = now.Add(16 * time.Minute)
		s2, err := svc.Login(ctx, "13900000001", "tower-bot-2020")
		if err != nil {
			t.Fatalf("login after the lock: %v", err)
		}
		// Sessions end: by time, and by logout.
		now = now.Add(61 * time.Minute)
		if _, err := svc.Session(ctx, s2.Token); err == nil {
			t.Fatal("an expired session is live")
		}
		now = now.Add(-61 * time.Minute)
		if err := svc.Logout(ctx, s2.Token); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Session(ctx, s2.Token); err == nil {
			t.Fatal("a session lives after logout")
		}
	})
}

func TestInvite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		roster(t, db)
		now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
		svc := webauth.New(db, webauth.Config{Now: func() time.Time { return now }})
		token, p, until, err := svc.Invite(ctx, "13900000001")
		if err != nil || p.Name != "书记" || !until.Equal(now.Add(24*time.Hour)) {
			t.Fatalf("invite: %v %v %v", p, until, err)
		}
		if err := svc.AcceptInvite(ctx, token, "short"); !errors.Is(err, webauth.ErrWeakPassword) {
			t.Fatalf("weak password through an invite: %v", err)
		}
		if err := svc.AcceptInvite(ctx, token, "tower-bot-2020"); err != nil {
			t.Fatal(err)
		}
		if err := svc.AcceptInvite(ctx, token, "tower-bot-2021"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an invite used twice: %v", err)
		}
		if _, err := svc.Login(ctx, "13900000001", "tower-bot-2020"); err != nil {
			t.Fatalf("login with the invited password: %v", err)
		}
		late, _, _, err := svc.Invite(ctx, "13900000001")
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(25 * time.Hour)
		if err := svc.AcceptInvite(ctx, late, "tower-bot-2022"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an expired invite used: %v", err)
		}
	})
}
