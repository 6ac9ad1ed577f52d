package store_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/store/storetest"
)

func newErrand(t *testing.T, db *store.DB, msg int64) *store.Errand {
	t.Helper()
	e, err := db.CreateErrand(context.Background(), store.Errand{NodeID: 3, GroupID: 4, Category: "medicine",
		Beneficiary: "沈奶奶", Detail: "配药 沈奶奶 降压药", Address: "方塘村5号", RequesterID: 20, MessageID: msg}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestErrandLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newErrand(t, db, 1)
		if e.ID == 0 || e.Status != store.ErrandOpen || e.ClaimerID != nil {
			t.Fatalf("new errand %+v", e)
		}
		if again := newErrand(t, db, 1); again.ID != e.ID {
			t.Fatalf("replayed request made errand %d, want %d", again.ID, e.ID)
		}
		got, err := db.ClaimErrand(ctx, e.ID, 30, 2)
		if err != nil || got.Status != store.ErrandClaimed || got.ClaimerID == nil || *got.ClaimerID != 30 {
			t.Fatalf("claim: %+v, %v", got, err)
		}
		if _, err := db.ClaimErrand(ctx, e.ID, 30, 2); err != nil {
			t.Fatalf("replayed claim: %v", err)
		}
		_, err = db.ClaimErrand(ctx, e.ID, 31, 3)
		var se *store.ErrandStateError
		if !errors.As(err, &se) || !errors.Is(err, store.ErrConflict) || *se.Errand.ClaimerID != 30 {
			t.Fatalf("second claim: %v; want a conflict naming claimer 30", err)
		}
		if _, err := db.CompleteErrand(ctx, e.ID, 30, 4); err != nil {
			t.Fatalf("done: %v", err)
		}
		if _, err := db.CompleteErrand(ctx, e.ID, 30, 5); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("done twice: %v, want conflict", err)
		}
		if _, err := db.CancelErrand(ctx, e.ID, 30, 6); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("cancel after done: %v, want conflict", err)
		}
		evs, err := db.ErrandEvents(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, ev := range evs {
			actions = append(actions, ev.Action)
		}
		if len(actions) != 3 || actions[0] != "request" || actions[1] != "claim" || actions[2] != "done" {
			t.Fatalf("events %v, want request claim done", actions)
		}

		open := newErrand(t, db, 10)
		_, err = db.CompleteErrand(ctx, open.ID, 30, 11)
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("done while open: %v, want conflict", err)
		}
		// The message log keeps this text as the outcome's detail.
		if want := "errand " + strconv.FormatInt(open.ID, 10) + " is open, cannot complete: conflict"; !strings.HasSuffix(err.Error(), want) {
			t.Errorf("done while open: %q, want it to end %q", err, want)
		}
		if c, err := db.CancelErrand(ctx, open.ID, 20, 12); err != nil || c.Status != store.ErrandCancelled {
			t.Fatalf("cancel open: %+v, %v", c, err)
		}
		if _, err := db.ClaimErrand(ctx, open.ID, 30, 13); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("claim cancelled: %v, want conflict", err)
		}
		if _, err := db.ClaimErrand(ctx, 9999, 30, 14); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("claim unknown: %v, want not found", err)
		}
		// A message takes one step only.
		third := newErrand(t, db, 20)
		if _, err := db.ClaimErrand(ctx, third.ID, 30, 12); err == nil {
			t.Fatal("a message that cancelled one errand claimed another")
		}
		if e, _ := db.ErrandByID(ctx, third.ID); e.Status != store.ErrandOpen {
			t.Fatalf("errand changed by a refused step: %+v", e)
		}
	})
}

func TestClaimErrandRaceHasOneWinner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newErrand(t, db, 1)
		const agents = 8
		var wg sync.WaitGroup
		results := make([]error, agents)
		for i := 0; i < agents; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, results[i] = db.ClaimErrand(ctx, e.ID, int64(100+i), int64(1000+i))
			}(i)
		}
		wg.Wait()
		winners := 0
		var winner int64
		for i, err := range results {
			switch {
			case err == nil:
				winners++
				winner = int64(100 + i)
			case errors.Is(err, store.ErrConflict):
				var se *store.ErrandStateError
				if !errors.As(err, &se) || se.Errand.ClaimerID == nil {
					t.Errorf("loser %d: %v carries no claimer", i, err)
				}
			default:
				t.Errorf("claim %d: %v", i, err)
			}
		}
		if winners != 1 {
			t.Fatalf("%d winners, want exactly 1", winners)
		}
		got, _ := db.ErrandByID(ctx, e.ID)
		if got.ClaimerID == nil || *got.ClaimerID != winner {
			t.Fatalf("stored claimer %v, want %d", got.ClaimerID, winner)
		}
		evs, _ := db.ErrandEvents(ctx, e.ID)
		if len(evs) != 2 {
			t.Fatalf("%d events, want request + one claim", len(evs))
		}
	})
}

func TestActiveErrands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := newErrand(t, db, 1) // open at node 3
		b := newErrand(t, db, 2)
		if _, err := db.ClaimErrand(ctx, b.ID, 30, 3); err != nil {
			t.Fatal(err)
		}
		c := newErrand(t, db, 4)
		if _, err := db.CancelErrand(ctx, c.ID, 20, 5); err != nil {
			t.Fatal(err)
		}
		ids := func(q store.ErrandQuery) []int64 {
			es, err := db.ActiveErrands(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, e := range es {
				out = append(out, e.ID)
			}
			return out
		}
		if got := ids(store.ErrandQuery{OpenAt: []int64{3}}); len(got) != 1 || got[0] != a.ID {
			t.Errorf("open at node 3: %v, want [%d]", got, a.ID)
		}
		if got := ids(store.ErrandQuery{ClaimerID: 30}); len(got) != 1 || got[0] != b.ID {
			t.Errorf("claimed by 30: %v, want [%d]", got, b.ID)
		}
		if got := ids(store.ErrandQuery{RequesterID: 20}); len(got) != 2 {
			t.Errorf("requested by 20: %v, want 2 active", got)
		}
		if got := ids(store.ErrandQuery{}); len(got) != 0 {
			t.Errorf("empty query: %v, want none", got)
		}
	})
}

func TestCreateErrandRejectsBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for name, e := range map[string]store.Errand{
			"no detail":    {NodeID: 1, GroupID: 1, Category: "other", RequesterID: 1, MessageID: 1},
			"bad category": {NodeID: 1, GroupID: 1, Category: "x", Detail: "d", RequesterID: 1, MessageID: 1},
			"no message":   {NodeID: 1, GroupID: 1, Category: "other", Detail: "d", RequesterID: 1},
		} {
			if _, err := db.CreateErrand(ctx, e, 0); err == nil {
				t.Errorf("%s: no error", name)
			}
		}
		if es, _ := db.ActiveErrands(ctx, store.ErrandQuery{OpenAt: []int64{1}}); len(es) != 0 {
			t.Fatalf("stored %+v", es)
		}
	})
}

// TestCreateErrandRivalDeliveries: copies of one message delivered at once
// (two replicas, a platform retry) make one errand with one request event,
// and every copy gets that errand back.
func TestCreateErrandRivalDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const copies = 6
		var wg sync.WaitGroup
		got := make([]*store.Errand, copies)
		errs := make([]error, copies)
		for i := range copies {
			wg.Go(func() {
				got[i], errs[i] = db.CreateErrand(context.Background(), store.Errand{NodeID: 3, GroupID: 4,
					Category: "grocery", Detail: "买菜", RequesterID: 20, MessageID: 77}, time.Minute)
			})
		}
		wg.Wait()
		for i := range copies {
			if errs[i] != nil {
				t.Fatalf("copy %d: %v", i, errs[i])
			}
			if got[i].ID != got[0].ID {
				t.Fatalf("copy %d made errand %d, copy 0 made %d", i, got[i].ID, got[0].ID)
			}
		}
		evs, err := db.ErrandEvents(context.Background(), got[0].ID)
		if err != nil || len(evs) != 1 || evs[0].Action != store.ErrandActionRequest {
			t.Fatalf("events %+v, %v; want one request", evs, err)
		}
	})
}

// inbound stores a message received at t in the log and returns its id.
func inbound(t *testing.T, db *store.DB, at time.Time) int64 {
	t.Helper()
	m := &store.InboundMessage{Platform: "sandbox", PlatformMsgID: at.Format(time.RFC3339Nano),
		ChatID: "c", Text: "x", ReceivedAt: at}
	if _, err := db.SaveInbound(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// A request made again by the same person in the same group within the
// window is the first one; later, different or after a cancel, it is new.
func TestCreateErrandDoubleTap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC)
		req := func(msg int64, detail string) *store.Errand {
			t.Helper()
			e, err := db.CreateErrand(ctx, store.Errand{NodeID: 3, GroupID: 4, Category: "grocery", Beneficiary: "沈奶奶",
				Detail: detail, RequesterID: 20, MessageID: msg}, 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		m1, m2 := inbound(t, db, t0), inbound(t, db, t0.Add(2*time.Minute))
		first := req(m1, "买菜")
		tap := req(m2, "买菜")
		if tap.ID != first.ID || tap.MessageID != m1 {
			t.Fatalf("double tap made %+v; want errand %d of message %d", tap, first.ID, m1)
		}
		if again := req(m2, "买菜"); again.ID != first.ID { // its replay, too
			t.Fatalf("replayed tap: errand %d", again.ID)
		}
		if evs, _ := db.ErrandEvents(ctx, first.ID); len(evs) != 1 {
			t.Fatalf("%d events after a double tap, want 1", len(evs))
		}
		if other := req(inbound(t, db, t0.Add(3*time.Minute)), "买米"); other.ID == first.ID {
			t.Fatal("a different request was taken for the first")
		}
		later := req(inbound(t, db, t0.Add(11*time.Minute)), "买菜")
		if later.ID == first.ID {
			t.Fatal("the same request 11 minutes later was taken for a double tap")
		}
		// Asked again after a cancel: a new errand.
		if _, err := db.CancelErrand(ctx, later.ID, 20, inbound(t, db, t0.Add(12*time.Minute))); err != nil {
			t.Fatal(err)
		}
		if again := req(inbound(t, db, t0.Add(13*time.Minute)), "买菜"); again.ID == later.ID {
			t.Fatal("a request after a cancel was taken for the cancelled one")
		}
	})
}

// Taps at the same moment are decided one at a time: one errand.
func TestCreateErrandRivalDoubleTaps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		smallTree(t, db)
		_, jia := lookup(t, db, "L1", "13900000011")
		t0 := time.Date(2020, 2, 24, 1, 0, 0, 0, time.UTC)
		const taps = 6
		msgs := make([]int64, taps)
		for i := range taps {
			msgs[i] = inbound(t, db, t0.Add(time.Duration(i)*time.Second))
		}
		got := make([]*store.Errand, taps)
		errs := make([]error, taps)
		var wg sync.WaitGroup
		for i := range taps {
			wg.Go(func() {
				got[i], errs[i] = db.CreateErrand(ctx, store.Errand{NodeID: 3, GroupID: 4, Category: "grocery",
					Detail: "买菜", RequesterID: jia.ID, MessageID: msgs[i]}, 10*time.Minute)
			})
		}
		wg.Wait()
		for i := range taps {
			if errs[i] != nil {
				t.Fatalf("tap %d: %v", i, errs[i])
			}
			if got[i].ID != got[0].ID {
				t.Fatalf("tap %d made errand %d, tap 0 got %d", i, got[i].ID, got[0].ID)
			}
		}
		if list, _ := db.ActiveErrands(ctx, store.ErrandQuery{RequesterID: jia.ID}); len(list) != 1 {
			t.Fatalf("%d errands from %d taps at once", len(list), taps)
		}
	})
}

// The requester's withdrawal is conditional on the errand being open and
// theirs: it cannot take an errand someone has claimed.
func TestWithdrawErrand(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newErrand(t, db, 1) // requested by 20
		if _, err := db.WithdrawErrand(ctx, e.ID, 21, 2); !errors.Is(err, store.ErrNotRequester) {
			t.Fatalf("withdrawal by another: %v, want ErrNotRequester", err)
		}
		w, err := db.WithdrawErrand(ctx, e.ID, 20, 3)
		if err != nil || w.Status != store.ErrandCancelled {
			t.Fatalf("withdrawal: %+v, %v", w, err)
		}
		if again, err := db.WithdrawErrand(ctx, e.ID, 20, 3); err != nil || again.Status != store.ErrandCancelled {
			t.Fatalf("replayed withdrawal: %+v, %v", again, err)
		}
		taken := newErrand(t, db, 10)
		if _, err := db.ClaimErrand(ctx, taken.ID, 30, 11); err != nil {
			t.Fatal(err)
		}
		_, err = db.WithdrawErrand(ctx, taken.ID, 20, 12)
		var se *store.ErrandStateError
		if !errors.As(err, &se) || se.Errand.Status != store.ErrandClaimed {
			t.Fatalf("withdrawing a claimed errand: %v; want a state conflict", err)
		}
		if evs, _ := db.ErrandEvents(ctx, taken.ID); len(evs) != 2 {
			t.Fatalf("%d events; a refused withdrawal left a trace", len(evs))
		}
	})
}
