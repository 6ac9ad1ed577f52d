package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

// smallTree applies a roster: S ─ C1 ─ U1 ─ {L1 (甲), L2 (乙)}, S ─ C2 ─ U2 ─ L3 (丙),
// with a secretary at C1. Every node gets its sandbox group.
func smallTree(t *testing.T, db *store.DB) {
	t.Helper()
	node := func(code string, tier int, parent string) store.RosterNode {
		return store.RosterNode{Code: code, Name: code, Tier: tier, ParentCode: parent,
			Groups: []store.RosterGroup{{Platform: "wecom", ChatID: "wr-" + code}}}
	}
	person := func(name, phone, role, at string) store.RosterPerson {
		return store.RosterPerson{Name: name, Phone: phone, Roles: []store.RosterRole{{NodeCode: at, Role: role}}}
	}
	_, err := db.ApplyRoster(context.Background(), store.Roster{
		Nodes: []store.RosterNode{node("S", 1, ""), node("C1", 2, "S"), node("C2", 2, "S"),
			node("U1", 3, "C1"), node("U2", 3, "C2"), node("L1", 4, "U1"), node("L2", 4, "U1"), node("L3", 4, "U2")},
		People: []store.RosterPerson{person("书记", "13900000001", store.RoleSecretary, "C1"),
			person("甲", "13900000011", store.RoleLandlord, "L1"), person("乙", "13900000012", store.RoleLandlord, "L2"),
			person("丙", "13900000013", store.RoleLandlord, "L3")},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func lookup(t *testing.T, db *store.DB, code, phone string) (store.Node, store.Person) {
	t.Helper()
	ctx := context.Background()
	n, err := db.NodeByCode(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := db.PeopleWithRole(ctx, n.ID, store.RoleLandlord)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Phone == phone {
			return *n, p
		}
	}
	t.Fatalf("no landlord %s at %s", phone, code)
	return store.Node{}, store.Person{}
}

func TestScoreEventsPendingVerifyAndDerivedScore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallTree(t, db)
		l1, jia := lookup(t, db, "L1", "13900000011")
		since := time.Now().Add(-time.Hour)
		score := func() int {
			t.Helper()
			s, err := db.LandlordScore(ctx, jia.ID, 12, since)
			if err != nil {
				t.Fatal(err)
			}
			// Asked with another at once (a 积分 answer's one
			// statement), the same; a landlord with no events has the base.
			all, err := db.ScoreSummaries(ctx, []int64{jia.ID, jia.ID + 1000}, 12, since)
			if err != nil || all[jia.ID].Score != s || all[jia.ID+1000].Score != 12 {
				t.Fatalf("score summaries %+v, %v; want %d for %d and the base for nobody", all, err, s, jia.ID)
			}
			return s
		}
		pending := func() int {
			t.Helper()
			all, err := db.ScoreSummaries(ctx, []int64{jia.ID}, 12, since)
			if err != nil {
				t.Fatal(err)
			}
			return all[jia.ID].Pending[l1.ID]
		}
		author := int64(1)
		ev, err := db.CreateScoreEvent(ctx, store.ScoreEvent{LandlordID: jia.ID, NodeID: l1.ID, Delta: 2,
			Reason: "调解纠纷", Status: store.ScorePending, AuthorID: &author, MessageID: 10}, 0)
		if err != nil || ev.Status != store.ScorePending || ev.Origin != store.ScoreOriginManual {
			t.Fatalf("create: %+v, %v", ev, err)
		}
		if again, err := db.CreateScoreEvent(ctx, store.ScoreEvent{LandlordID: jia.ID, NodeID: l1.ID, Delta: 2,
			Reason: "调解纠纷", Status: store.ScorePending, AuthorID: &author, MessageID: 10}, 0); err != nil || again.ID != ev.ID {
			t.Fatalf("replay: %+v, %v", again, err)
		}
		if s, p := score(), pending(); s != 12 || p != 1 {
			t.Fatalf("score with a pending event = %d, %d pending; want 12, 1", s, p)
		}
		v, err := db.VerifyScoreEvent(ctx, store.ScoreVerdict{EventID: ev.ID, Approve: true, VerifierID: 2, MessageID: 11})
		if err != nil || v.Status != store.ScoreApproved || *v.VerifierID != 2 || v.VerifiedAt == nil {
			t.Fatalf("verify: %+v, %v", v, err)
		}
		if _, err := db.VerifyScoreEvent(ctx, store.ScoreVerdict{EventID: ev.ID, Approve: true, VerifierID: 2, MessageID: 11}); err != nil {
			t.Fatalf("replayed verify: %v", err)
		}
		_, err = db.VerifyScoreEvent(ctx, store.ScoreVerdict{EventID: ev.ID, Approve: false, VerifierID: 2, MessageID: 12})
		var se *store.ScoreStateError
		if !errors.As(err, &se) || !errors.Is(err, store.ErrConflict) || se.Event.Status != store.ScoreApproved {
			t.Fatalf("second verdict: %v; want conflict with status approved", err)
		}
		if _, err := db.VerifyScoreEvent(ctx, store.ScoreVerdict{EventID: 999, Approve: true, VerifierID: 2, MessageID: 13}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown event: %v, want not found", err)
		}
		if s, p := score(), pending(); s != 14 || p != 0 {
			t.Fatalf("score after approval = %d, %d pending; want 14, 0", s, p)
		}
		// Rejected events do not count; approved-at-once events do.
		rej, _ := db.CreateScoreEvent(ctx, store.ScoreEvent{LandlordID: jia.ID, NodeID: l1.ID, Delta: -5,
			Reason: "瞒报租客", Status: store.ScorePending, AuthorID: &author, MessageID: 20}, 0)
		if _, err := db.VerifyScoreEvent(ctx, store.ScoreVerdict{EventID: rej.ID, VerifierID: 2, MessageID: 21, Reason: "证据不足"}); err != nil {
			t.Fatal(err)
		}
		sec := int64(2)
		at, err := db.CreateScoreEvent(ctx, store.ScoreEvent{LandlordID: jia.ID, NodeID: l1.ID, Delta: -3,
			Reason: "未及时上报", Status: store.ScoreApproved, AuthorID: &sec, VerifierID: &sec, MessageID: 30}, 0)
		if err != nil || at.VerifiedAt == nil || at.VerifyMessageID == nil || *at.VerifyMessageID != 30 {
			t.Fatalf("approved at once: %+v, %v", at, err)
		}
		if s := score(); s != 11 {
			t.Fatalf("score = %d, want 12+2-3 = 11", s)
		}
		// The cycle: events before it do not count.
		if s, _ := db.LandlordScore(ctx, jia.ID, 12, time.Now().Add(time.Hour)); s != 12 {
			t.Fatalf("score in the next cycle = %d, want the base", s)
		}
		for name, bad := range map[string]store.ScoreEvent{
			"delta 13":  {LandlordID: jia.ID, NodeID: l1.ID, Delta: 13, Reason: "x", Status: store.ScorePending, MessageID: 40},
			"no reason": {LandlordID: jia.ID, NodeID: l1.ID, Delta: 1, Status: store.ScorePending, MessageID: 40},
			"approved without verifier": {LandlordID: jia.ID, NodeID: l1.ID, Delta: 1, Reason: "x",
				Status: store.ScoreApproved, MessageID: 40},
			"rejected at birth": {LandlordID: jia.ID, NodeID: l1.ID, Delta: 1, Reason: "x", Status: store.ScoreRejected, MessageID: 40},
		} {
			if _, err := db.CreateScoreEvent(ctx, bad, 0); err == nil {
				t.Errorf("%s: no error", name)
			}
		}
	})
}

func TestLandlordRanking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallTree(t, db)
		l1, jia := lookup(t, db, "L1", "13900000011")
		l2, yi := lookup(t, db, "L2", "13900000012")
		l3, bing := lookup(t, db, "L3", "13900000013")
		sec := int64(1)
		add := func(p store.Person, n store.Node, delta int, msg int64) {
			if _, err := db.CreateScoreEvent(ctx, store.ScoreEvent{LandlordID: p.ID, NodeID: n.ID, Delta: delta,
				Reason: "r", Status: store.ScoreApproved, AuthorID: &sec, VerifierID: &sec, MessageID: msg}, 0); err != nil {
				t.Fatal(err)
			}
		}
		add(jia, l1, -2, 1)
		add(yi, l2, 3, 2)
		add(bing, l3, 5, 3)
		// A pending event does not move the ranking.
		if _, err := db.CreateScoreEvent(ctx, store.ScoreEvent{LandlordID: jia.ID, NodeID: l1.ID, Delta: 12,
			Reason: "r", Status: store.ScorePending, MessageID: 4}, 0); err != nil {
			t.Fatal(err)
		}
		s, _ := db.NodeByCode(ctx, "S")
		c1, _ := db.NodeByCode(ctx, "C1")
		since := time.Now().Add(-time.Hour)
		all, err := db.LandlordRanking(ctx, s.ID, 12, since)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			name  string
			score int
		}{{"丙", 17}, {"乙", 15}, {"甲", 10}}
		if len(all) != len(want) {
			t.Fatalf("ranking %+v", all)
		}
		for i, w := range want {
			if all[i].Name != w.name || all[i].Score != w.score {
				t.Errorf("rank %d = %s %d, want %s %d", i+1, all[i].Name, all[i].Score, w.name, w.score)
			}
		}
		under, err := db.LandlordRanking(ctx, c1.ID, 12, since)
		if err != nil || len(under) != 2 || under[0].Name != "乙" || under[1].NodeID != l1.ID {
			t.Fatalf("ranking under C1: %+v, %v", under, err)
		}
	})
}

// The same score line by the same author within the window is the first
// one; after a rejection, or later, it is new.
func TestCreateScoreEventDoubleTap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallTree(t, db)
		l1, jia := lookup(t, db, "L1", "13900000011")
		t0 := time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC)
		author, other := int64(7), int64(8)
		line := func(msg int64, by *int64, delta int, reason string) *store.ScoreEvent {
			t.Helper()
			ev, err := db.CreateScoreEvent(ctx, store.ScoreEvent{LandlordID: jia.ID, NodeID: l1.ID, Delta: delta,
				Reason: reason, Status: store.ScorePending, AuthorID: by, MessageID: msg}, 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return ev
		}
		first := line(inbound(t, db, t0), &author, 2, "调解纠纷")
		m2 := inbound(t, db, t0.Add(time.Minute))
		if tap := line(m2, &author, 2, "调解纠纷"); tap.ID != first.ID {
			t.Fatalf("double tap made event %d, want %d", tap.ID, first.ID)
		}
		if replay := line(m2, &author, 2, "调解纠纷"); replay.ID != first.ID {
			t.Fatalf("replayed tap made event %d", replay.ID)
		}
		for name, ev := range map[string]*store.ScoreEvent{
			"another author": line(inbound(t, db, t0.Add(2*time.Minute)), &other, 2, "调解纠纷"),
			"another delta":  line(inbound(t, db, t0.Add(3*time.Minute)), &author, 3, "调解纠纷"),
			"another reason": line(inbound(t, db, t0.Add(4*time.Minute)), &author, 2, "代办"),
			"11 minutes on":  line(inbound(t, db, t0.Add(11*time.Minute)), &author, 2, "调解纠纷"),
		} {
			if ev.ID == first.ID {
				t.Errorf("%s: taken for a double tap", name)
			}
		}
		if _, err := db.VerifyScoreEvent(ctx, store.ScoreVerdict{EventID: first.ID, VerifierID: 9,
			MessageID: inbound(t, db, t0.Add(5*time.Minute))}); err != nil {
			t.Fatal(err)
		}
		if again := line(inbound(t, db, t0.Add(6*time.Minute)), &author, 2, "调解纠纷"); again.ID == first.ID {
			t.Error("a line after a rejection was taken for the rejected one")
		}
		// Lines at the same moment are decided one at a time.
		const taps = 5
		got := make([]*store.ScoreEvent, taps)
		errs := make([]error, taps)
		msgs := make([]int64, taps)
		for i := range taps {
			msgs[i] = inbound(t, db, t0.Add(time.Hour+time.Duration(i)*time.Second))
		}
		var wg sync.WaitGroup
		for i := range taps {
			wg.Go(func() {
				got[i], errs[i] = db.CreateScoreEvent(ctx, store.ScoreEvent{LandlordID: jia.ID, NodeID: l1.ID, Delta: -1,
					Reason: "未消毒", Status: store.ScorePending, AuthorID: &author, MessageID: msgs[i]}, 10*time.Minute)
			})
		}
		wg.Wait()
		for i := range taps {
			if errs[i] != nil || got[i].ID != got[0].ID {
				t.Fatalf("tap %d: %+v, %v; want event %d", i, got[i], errs[i], got[0].ID)
			}
		}
	})
}
