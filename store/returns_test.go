package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func TestSaveTenantReturnWithPenaltyIsReplaySafe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		arrived := time.Date(2020, 2, 20, 0, 0, 0, 0, time.UTC)
		r := store.TenantReturn{NodeID: 5, Name: "王五", Origin: "湖南长沙", ArrivedAt: arrived,
			HealthCode: "green", Address: "方塘村12号301", Phone: "13812345678",
			QuarantineEnd: arrived.AddDate(0, 0, 14), Late: true, ReporterID: 9, MessageID: 77}
		penalty := &store.ScoreEvent{LandlordID: 9, NodeID: 5, Delta: -1, Reason: "租客返回逾期上报", Status: store.ScorePending}
		res, err := db.SaveTenantReturn(ctx, r, penalty)
		if err != nil {
			t.Fatal(err)
		}
		saved, ev := res.Return, res.Penalty
		if saved.ID == 0 || ev == nil || ev.ID == 0 || ev.MessageID != 77 || ev.Origin != store.ScoreOriginLateReturn || ev.Status != store.ScorePending {
			t.Fatalf("saved %+v, penalty %+v", saved, ev)
		}
		again, err := db.SaveTenantReturn(ctx, r, penalty)
		if err != nil || again.Return.ID != saved.ID || again.Penalty == nil || again.Penalty.ID != ev.ID || again.Prior != nil {
			t.Fatalf("replay: %+v %v; want the same records", again, err)
		}
		if pend, _ := db.PendingScoreEvents(ctx, 5); len(pend) != 1 {
			t.Fatalf("%d pending events after replay, want 1", len(pend))
		}
		// Another tenant, on time: no penalty.
		r2 := r
		r2.Name, r2.MessageID, r2.Late = "赵六", 78, false
		if res, err := db.SaveTenantReturn(ctx, r2, nil); err != nil || res.Penalty != nil || res.Prior != nil {
			t.Fatalf("on-time return: %+v, %v", res, err)
		}
		q, err := db.InQuarantine(ctx, arrived.AddDate(0, 0, 3), 5)
		if err != nil || len(q) != 2 {
			t.Fatalf("in quarantine: %d, %v; want 2", len(q), err)
		}
		if q, _ := db.InQuarantine(ctx, arrived.AddDate(0, 0, 15), 5); len(q) != 0 {
			t.Fatalf("in quarantine after 15 days: %d, want 0", len(q))
		}
		got, err := db.TenantReturnByMessage(ctx, 77)
		if err != nil || !got.QuarantineEnd.Equal(arrived.AddDate(0, 0, 14)) || got.Phone != "13812345678" {
			t.Fatalf("stored %+v, %v", got, err)
		}
	})
}

func TestSaveTenantReturnRejectsBadInputAtomically(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		arrived := time.Date(2020, 2, 20, 0, 0, 0, 0, time.UTC)
		good := store.TenantReturn{NodeID: 5, Name: "王五", Origin: "湖南长沙", ArrivedAt: arrived,
			QuarantineEnd: arrived.AddDate(0, 0, 14), ReporterID: 9, MessageID: 1}
		noOrigin := good
		noOrigin.Origin = ""
		badCode := good
		badCode.HealthCode = "blue"
		backwards := good
		backwards.QuarantineEnd = arrived.AddDate(0, 0, -1)
		for name, r := range map[string]store.TenantReturn{"no origin": noOrigin, "bad code": badCode, "backwards": backwards} {
			if _, err := db.SaveTenantReturn(ctx, r, nil); err == nil {
				t.Errorf("%s: no error", name)
			}
		}
		// A bad penalty stops the return too.
		if _, err := db.SaveTenantReturn(ctx, good, &store.ScoreEvent{LandlordID: 9, NodeID: 5, Delta: -20,
			Reason: "x", Status: store.ScorePending}); err == nil {
			t.Error("penalty of -20: no error")
		}
		if _, err := db.TenantReturnByMessage(ctx, 1); err == nil {
			t.Fatal("a rejected return was stored")
		}
	})
}

// The same tenant reported again (same node, name and arrival day) is a
// correction of that return: new values, the newer message, no second
// penalty. An older report replayed afterwards changes nothing.
func TestSaveTenantReturnCorrectsTheSameReturn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallTree(t, db)
		l1, jia := lookup(t, db, "L1", "13900000011")
		shanghai, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			t.Fatal(err)
		}
		// Just after midnight in Shanghai: the day before in UTC.
		arrived := time.Date(2020, 2, 20, 0, 30, 0, 0, shanghai)
		first := store.TenantReturn{NodeID: l1.ID, Name: "王五", Origin: "湖南长沙", ArrivedAt: arrived, ArrivedHasTime: true,
			HealthCode: "green", Phone: "13812345678", QuarantineEnd: arrived.AddDate(0, 0, 14), Late: true,
			ReporterID: jia.ID, MessageID: 100}
		penalty := func() *store.ScoreEvent {
			return &store.ScoreEvent{LandlordID: jia.ID, NodeID: l1.ID, Delta: -1, Reason: "租客返回逾期上报", Status: store.ScorePending}
		}
		a, err := db.SaveTenantReturn(ctx, first, penalty())
		if err != nil || a.Penalty == nil || a.Prior != nil {
			t.Fatalf("first report: %+v, %v", a, err)
		}
		fix := first
		fix.Origin, fix.HealthCode, fix.Phone, fix.Address, fix.MessageID = "湖南岳阳", "red", "", "方塘村12号301", 101
		fix.ArrivedAt = time.Date(2020, 2, 20, 23, 0, 0, 0, shanghai) // the same day, later
		fix.QuarantineEnd = fix.ArrivedAt.AddDate(0, 0, 14)
		b, err := db.SaveTenantReturn(ctx, fix, penalty())
		if err != nil {
			t.Fatal(err)
		}
		if b.Return.ID != a.Return.ID || b.Penalty != nil || b.Prior == nil || b.Prior.HealthCode != "green" {
			t.Fatalf("correction: %+v; want return %d updated, no penalty, the prior state", b, a.Return.ID)
		}
		got, err := db.TenantReturnByMessage(ctx, 101)
		if err != nil || got.ID != a.Return.ID || got.Origin != "湖南岳阳" || got.HealthCode != "red" ||
			got.Phone != "13812345678" || got.Address != "方塘村12号301" || !got.Late ||
			!got.ArrivedAt.Equal(fix.ArrivedAt) || !got.QuarantineEnd.Equal(fix.QuarantineEnd) {
			t.Fatalf("after the correction: %+v, %v", got, err)
		}
		if _, err := db.TenantReturnByMessage(ctx, 100); err == nil {
			t.Error("the return still points to the older message")
		}
		// The older report replayed: nothing changes, its penalty comes back.
		old, err := db.SaveTenantReturn(ctx, first, penalty())
		if err != nil || old.Return.ID != a.Return.ID || old.Return.Origin != "湖南岳阳" || old.Penalty == nil ||
			old.Penalty.ID != a.Penalty.ID || old.Prior != nil {
			t.Fatalf("older report replayed: %+v, %v", old, err)
		}
		if pend, _ := db.PendingScoreEvents(ctx, l1.ID); len(pend) != 1 {
			t.Fatalf("%d penalties for one return, want 1", len(pend))
		}
		// Another arrival day, another node: other returns.
		next := first
		next.ArrivedAt, next.QuarantineEnd, next.MessageID = arrived.AddDate(0, 0, 1), arrived.AddDate(0, 0, 15), 102
		l2, _ := lookup(t, db, "L2", "13900000012")
		there := first
		there.NodeID, there.MessageID = l2.ID, 103
		for name, r := range map[string]store.TenantReturn{"next day": next, "other node": there} {
			if res, err := db.SaveTenantReturn(ctx, r, nil); err != nil || res.Return.ID == a.Return.ID || res.Prior != nil {
				t.Errorf("%s: %+v, %v; want a new return", name, res, err)
			}
		}

		// Reports of one tenant at the same moment: one return, one penalty.
		const reports = 5
		var wg sync.WaitGroup
		got2 := make([]*store.SavedReturn, reports)
		errs := make([]error, reports)
		for i := range reports {
			r := first
			r.Name, r.MessageID = "赵六", int64(200+i)
			wg.Go(func() { got2[i], errs[i] = db.SaveTenantReturn(ctx, r, penalty()) })
		}
		wg.Wait()
		penalties := 0
		for i := range reports {
			if errs[i] != nil || got2[i].Return.ID != got2[0].Return.ID {
				t.Fatalf("report %d: %+v, %v; want return %d", i, got2[i], errs[i], got2[0].Return.ID)
			}
			if got2[i].Penalty != nil {
				penalties++
			}
		}
		if penalties != 1 {
			t.Fatalf("%d penalties from %d reports at once, want 1", penalties, reports)
		}
	})
}
