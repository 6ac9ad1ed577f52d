package store_test

import (
	"context"
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
		saved, ev, err := db.SaveTenantReturn(ctx, r, penalty)
		if err != nil {
			t.Fatal(err)
		}
		if saved.ID == 0 || ev == nil || ev.ID == 0 || ev.MessageID != 77 || ev.Origin != store.ScoreOriginLateReturn || ev.Status != store.ScorePending {
			t.Fatalf("saved %+v, penalty %+v", saved, ev)
		}
		again, ev2, err := db.SaveTenantReturn(ctx, r, penalty)
		if err != nil || again.ID != saved.ID || ev2 == nil || ev2.ID != ev.ID {
			t.Fatalf("replay: %+v %+v %v; want the same records", again, ev2, err)
		}
		if pend, _ := db.PendingScoreEvents(ctx, 5); len(pend) != 1 {
			t.Fatalf("%d pending events after replay, want 1", len(pend))
		}
		// On time: no penalty.
		r2 := r
		r2.MessageID, r2.Late = 78, false
		if _, ev, err := db.SaveTenantReturn(ctx, r2, nil); err != nil || ev != nil {
			t.Fatalf("on-time return: %+v, %v", ev, err)
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
			if _, _, err := db.SaveTenantReturn(ctx, r, nil); err == nil {
				t.Errorf("%s: no error", name)
			}
		}
		// A bad penalty stops the return too.
		if _, _, err := db.SaveTenantReturn(ctx, good, &store.ScoreEvent{LandlordID: 9, NodeID: 5, Delta: -20,
			Reason: "x", Status: store.ScorePending}); err == nil {
			t.Error("penalty of -20: no error")
		}
		if _, err := db.TenantReturnByMessage(ctx, 1); err == nil {
			t.Fatal("a rejected return was stored")
		}
	})
}
